"""The activity log: what happened in each organization (API calls, dashboard views, runs).

Recording is cheap and never fails the caller: events go to an in-memory buffer that a background
thread writes in bulk every `flush_seconds` (and at once when the buffer is full). Readers call
`flush()` first, so a report includes what just happened.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, delete, insert
from sqlalchemy.exc import SQLAlchemyError

from openlytics.store.db import Database
from openlytics.store.models import ActivityEvent
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

# A batch the store refused is retried once with the next flush, then dropped (a deleted
# organization or user would otherwise block every later event). Past this many buffers' worth of
# events waiting, the oldest are dropped rather than growing without bound while the store is down.
MAX_BUFFERS_KEPT = 10


class ActivityKind(StrEnum):
    """The kinds of events the server records."""

    API_CALL = "api_call"
    DASHBOARD_VIEW = "dashboard_view"
    QUERY_RUN = "query_run"
    SCRIPT_RUN = "script_run"
    DATASET_LOAD = "dataset_load"


class ActivityLog:
    """Buffers activity events and writes them to the metadata store in bulk."""

    def __init__(self, db: Database, *, flush_seconds: float = 1.0, max_buffer: int = 1000) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self.max_buffer = max(1, max_buffer)
        self._buffer: list[dict[str, Any]] = []
        self._retry: list[dict[str, Any]] = []  # refused once; dropped if refused again
        self._lock = threading.Lock()  # guards the buffers
        self._write_lock = threading.Lock()  # one writer at a time, so flush() waits for one in progress
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0  # events lost to store failures since start

    def record(
        self,
        org_id: int,
        user_id: int | None,
        kind: str,
        *,
        object_type: str | None = None,
        object_id: int | None = None,
        channel: str | None = None,
    ) -> None:
        """Note an event; written within `flush_seconds`. Never raises for a store failure."""
        event = {
            "org_id": org_id,
            "user_id": user_id,
            "kind": str(kind),
            "object_type": object_type,
            "object_id": object_id,
            "channel": channel,
            "created_at": utcnow(),
        }
        with self._lock:
            self._buffer.append(event)
            overflow = len(self._buffer) - self.max_buffer * MAX_BUFFERS_KEPT
            if overflow > 0:
                del self._buffer[:overflow]
                self.dropped += overflow
            full = len(self._buffer) >= self.max_buffer
        if full:
            if self._thread is not None and self._thread.is_alive():
                self._wake.set()
            else:
                self.flush()

    def flush(self) -> int:
        """Write every buffered event now; the number written (0 if the store refused them)."""
        with self._write_lock:
            with self._lock:
                retry, batch = self._retry, self._retry + self._buffer
                self._retry, self._buffer = [], []
            if not batch:
                return 0
            try:
                with self.db.session() as s:
                    # render_nulls: one statement for all rows, whichever optional fields are set.
                    s.execute(insert(ActivityEvent).execution_options(render_nulls=True), batch)
            except SQLAlchemyError:
                fresh = batch[len(retry) :]
                log.exception(
                    "activity log: could not write %d events (%d dropped, %d kept for retry)",
                    len(batch),
                    len(retry),
                    len(fresh),
                )
                with self._lock:
                    self.dropped += len(retry)
                    self._retry = fresh
                return 0
            return len(batch)

    def pending(self) -> int:
        """How many events wait to be written."""
        with self._lock:
            return len(self._buffer) + len(self._retry)

    def purge(self, older_than: datetime) -> int:
        """Delete events recorded before `older_than`; how many were deleted."""
        with self.db.session() as s:
            done = s.execute(delete(ActivityEvent).where(ActivityEvent.created_at < older_than))
            return int(done.rowcount) if isinstance(done, CursorResult) else 0

    def start(self) -> None:
        """Start the background writer (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="openlytics-activity", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the background writer and write what is still buffered."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.flush_seconds * 2))
            self._thread = None
        self.flush()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # flush handles store errors; anything else must not end the thread
                log.exception("activity log: flush failed")
