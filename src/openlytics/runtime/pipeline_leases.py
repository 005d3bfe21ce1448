"""Which process may run an organization's pipeline batches now, and which claimers are gone.

Batches of one organization must complete in order. Inside one process the pipeline worker chains
them (`runtime/pipeline_worker.py`); across processes (`openlytics worker` processes, or several API
processes on one PostgreSQL store) a process claims an organization's batches only while it holds
that organization's lease, from its first in-flight batch until its last one finishes:

- `PostgresLeases`: one session-level advisory lock (`pg_try_advisory_lock`) per organization, all
  on one dedicated connection of the metadata store (as `runtime/leadership.py` does for the
  scheduler). PostgreSQL releases them the moment the connection ends, so a process killed with
  `kill -9` holds no lease; its claimed batches stay in the spool until a survivor releases them
  (`claimers_gone_by_heartbeat`).
- `LocalLeases`: SQLite metadata is served by one process: every lease is granted.

`claimers_gone_by_heartbeat(db, lost_after)` decides whether the process that claimed a batch is
gone, by the heartbeats (`worker_heartbeats`, `runtime/worker_liveness.py`) that every process
running the pipeline on a shared store writes under `host:pid`.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from openlytics.store.db import Database, advisory_key
from openlytics.store.models import WorkerHeartbeat
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

# (host, pid, seconds since the claim) -> whether the claiming process is gone
ClaimerGone = Callable[[str, int, float], bool]


class PipelineLeases(ABC):
    """Per-organization leases of this process (module docstring)."""

    @abstractmethod
    def try_acquire(self, org_id: int) -> bool:
        """Take the organization's lease (or keep it); whether this process holds it now."""

    @abstractmethod
    def release(self, org_id: int) -> None:
        """Give the organization's lease back (its last in-flight batch finished)."""

    @abstractmethod
    def close(self) -> None:
        """Give every lease back (at shutdown)."""


class LocalLeases(PipelineLeases):
    """The only process there is: every lease is granted."""

    def try_acquire(self, org_id: int) -> bool:
        return True

    def release(self, org_id: int) -> None:
        return None

    def close(self) -> None:
        return None


class PostgresLeases(PipelineLeases):
    """Advisory locks `pipeline-org:<id>` on one dedicated connection of `engine` (PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._held: set[int] = set()
        self._lock = threading.Lock()

    def try_acquire(self, org_id: int) -> bool:
        with self._lock:
            if org_id in self._held and self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))  # still there, still holding it
                    self._connection.commit()
                    return True
                except SQLAlchemyError:
                    log.warning("pipeline leases: lost the connection holding them", exc_info=True)
                    self._drop_connection()
            try:
                if self._connection is None:
                    self._connection = self._engine.connect()
                got = self._connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(org_id)}
                ).scalar()
                self._connection.commit()  # end the implicit transaction; the lock is session-level
            except SQLAlchemyError:
                log.warning("pipeline leases: lost the connection holding them", exc_info=True)
                self._drop_connection()
                return False
            if got:
                self._held.add(org_id)
            return bool(got)

    def release(self, org_id: int) -> None:
        with self._lock:
            if org_id not in self._held:
                return
            self._held.discard(org_id)
            if self._connection is None:
                return
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(org_id)})
                self._connection.commit()
            except SQLAlchemyError:
                log.warning("pipeline leases: lost the connection holding them", exc_info=True)
                self._drop_connection()

    def close(self) -> None:
        with self._lock:
            self._drop_connection()  # ending the session gives every lease back

    def _drop_connection(self) -> None:
        self._held.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: the session may hold locks
                connection.close()
            except SQLAlchemyError:
                pass


def leases_for(engine: Engine) -> PipelineLeases:
    """Advisory locks on PostgreSQL metadata; one process (every lease granted) otherwise."""
    if engine.dialect.name == "postgresql":
        return PostgresLeases(engine)
    return LocalLeases()


def claimers_gone_by_heartbeat(db: Database, *, lost_after: float) -> ClaimerGone:
    """A claimer is gone when its heartbeat (`host:pid`) is older than `lost_after` seconds, or
    missing while its claim is older than that (a process beats before it claims anything)."""

    def gone(host: str, pid: int, claimed_seconds_ago: float) -> bool:
        with db.session() as s:
            beat = s.scalar(
                select(WorkerHeartbeat.last_beat_at).where(WorkerHeartbeat.name == f"{host}:{pid}")
            )
        if beat is None:
            return claimed_seconds_ago > lost_after
        if beat.tzinfo is None:  # SQLite gives naive UTC back
            beat = beat.replace(tzinfo=utcnow().tzinfo)
        return utcnow() - beat > timedelta(seconds=lost_after)

    return gone


def _key(org_id: int) -> int:
    return advisory_key(f"pipeline-org:{int(org_id)}")
