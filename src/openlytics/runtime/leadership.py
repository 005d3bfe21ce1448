"""Leader election for work that one process at a time should do (the scheduler's polling).

Exactly-once firing does not depend on it — a due time is claimed with a compare-and-set and a unique
row (see `runtime/scheduler.py`) — but with many scheduler processes only the leader polls, so the
others cost nothing and a schedule's handler never races its twin.

- `PostgresLeadership`: a session-level advisory lock (`pg_try_advisory_lock`) held on one dedicated
  connection of the metadata store. PostgreSQL releases it the moment that connection ends, so a leader
  killed with `kill -9` (its socket closes) or cut off from the database loses it at once, and the next
  candidate takes it on its next try. The leader checks its connection on every `is_leader()`; a broken
  one means it is no longer the leader.
- `SoleLeadership`: SQLite metadata lives on one machine and is served by one process: always leader.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from openlytics.store.db import advisory_key

logger = logging.getLogger(__name__)


class Leadership(ABC):
    """Whether this process leads, asked before each round of leader-only work."""

    @abstractmethod
    def is_leader(self) -> bool:
        """Try to become (or stay) the leader; whether this process is it now."""

    @abstractmethod
    def release(self) -> None:
        """Give leadership up (at shutdown), so another process takes over at once."""


class SoleLeadership(Leadership):
    """The only process there is: always the leader."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        return None


class PostgresLeadership(Leadership):
    """An advisory lock named `name` on a dedicated connection of `engine` (PostgreSQL)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name
        self._key = advisory_key(name)
        self._connection: Connection | None = None
        self._leading = False
        self._lock = threading.Lock()

    def is_leader(self) -> bool:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._engine.connect()
                if self._leading:
                    self._connection.execute(text("SELECT 1"))  # still there, still holding the lock
                else:
                    got = self._connection.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                    ).scalar()
                    self._connection.commit()  # end the implicit transaction; the lock is session-level
                    if got:
                        logger.info("became the leader for %s", self.name)
                    self._leading = bool(got)
            except SQLAlchemyError:
                if self._leading:
                    logger.warning("lost the connection holding leadership for %s", self.name)
                self._drop_connection()
            return self._leading

    def release(self) -> None:
        with self._lock:
            if self._connection is not None and self._leading:
                try:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                    self._connection.commit()
                except SQLAlchemyError:
                    pass
            self._drop_connection()

    def _drop_connection(self) -> None:
        self._leading = False
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: the session may hold the lock
                connection.close()
            except SQLAlchemyError:
                pass


def leadership_for(engine: Engine, name: str) -> Leadership:
    """The right election for a metadata store: advisory locks on PostgreSQL, sole leader otherwise."""
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine, name)
    return SoleLeadership()
