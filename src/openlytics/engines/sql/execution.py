"""One statement on a pooled DBAPI connection: lazy start, streaming, cancel, and the connection's return.

The statement starts on the first use of `schema` or `batches()`, so the caller holds the `Execution`
(and can cancel it) before any long-running work begins. Rows stream from the driver's server-side
cursor and become Arrow batches through `RowBatcher`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pyarrow as pa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from openlytics.core.errors import QueryCancelledError, QueryFailedError
from openlytics.engines.base import Execution, unique_names
from openlytics.engines.sql.batching import ColumnPlan, RowBatcher
from openlytics.engines.sql.drivers import DriverDialect

if TYPE_CHECKING:
    from openlytics.engines.sql.engine import SQLAlchemySourceEngine

logger = logging.getLogger(__name__)

# A cancel is sent again this often, this many times, while its statement still runs.
RESEND_CANCEL_EVERY, RESEND_CANCEL_TIMES = 0.5, 20


class SQLExecution(Execution):
    """One statement on a pooled connection; streams through the driver's server-side cursor."""

    def __init__(
        self,
        engine: SQLAlchemySourceEngine,
        connection: PoolProxiedConnection,
        sql: str,
        params: list[Any] | None,
        batch_size: int,
    ) -> None:
        self._engine = engine
        self._driver: DriverDialect = engine._driver
        self._connection = connection
        self._sql = sql
        self._params = params
        self._batch_size = batch_size
        self._cursor: Any = None
        self._batcher: RowBatcher | None = None
        self._first_rows: list[Any] | None = None
        self._state = "new"  # new -> running -> done | failed | cancelled | closed
        self._lock = threading.Lock()
        self._cancel_requested = threading.Event()

    @property
    def schema(self) -> pa.Schema:
        """The result schema; runs the statement and reads its first batch if needed."""
        return self._start().schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the result; later batches are cast to the schema the first batch fixed."""
        batcher = self._start()
        rows = self._first_rows
        self._first_rows = None
        while rows:
            yield self._to_batch(batcher, rows)
            if len(rows) < self._batch_size:
                break
            rows = self._fetch()
        self._finish()

    def cancel(self) -> None:
        """Interrupt the statement with the driver's cancel; it then raises QueryCancelledError.

        A cancel that reaches the database just before the statement does (it is being sent) is
        ignored there, so while the execution still runs the cancel is sent again a few times."""
        self._cancel_requested.set()
        if self._send_cancel():
            threading.Thread(target=self._cancel_until_stopped, name="openlytics-cancel", daemon=True).start()

    def _send_cancel(self) -> bool:
        """The driver's cancel, under the lock (so the connection is still this statement's);
        False when the execution no longer runs."""
        with self._lock:
            if self._state != "running":
                return False
            try:
                self._driver.cancel(self._connection.dbapi_connection, self._engine)
            except Exception as exc:  # noqa: BLE001 - cancel is best effort; the flag still stops the stream
                self._driver.log_cancel_failure(exc)
        return True

    def _cancel_until_stopped(self) -> None:
        for _ in range(RESEND_CANCEL_TIMES):
            time.sleep(RESEND_CANCEL_EVERY)
            if not self._send_cancel():
                return

    def close(self) -> None:
        """Return the connection to the pool clean, or discard it when its state is unknown."""
        with self._lock:
            state, self._state = self._state, "closed"
        if state == "closed":
            return
        if state in ("failed", "cancelled") or (state == "running" and not self._driver.can_abandon_cursor):
            # After an error or a cancel, or with unread MySQL packets, the connection's state is unsure:
            # a fresh connection is cheaper than finding out.
            self._discard()
            return
        self._release()

    def _start(self) -> RowBatcher:
        if self._batcher is not None:
            return self._batcher
        with self._lock:
            if self._state == "closed":
                raise QueryFailedError("execution is closed")
            self._state = "running"
        if self._cancel_requested.is_set():
            self._fail("cancelled", None)
        try:
            connection = self._connection.dbapi_connection
            self._cursor = self._driver.open_cursor(connection, self._sql, self._params)
            plans = self._plans()
            self._first_rows = self._fetch() if self._cursor.description is not None else []
        except self._driver.errors as exc:
            self._fail("failed", exc)
        self._batcher = RowBatcher(plans, self._batch_size)
        self._batcher.fix_schema(self._first_rows)
        return self._batcher

    def _plans(self) -> list[ColumnPlan]:
        description = self._cursor.description or []
        names = unique_names([str(column[0]) for column in description])
        return [
            self._driver.column_plan(name, column, self._cursor)
            for name, column in zip(names, description, strict=True)
        ]

    def _fetch(self) -> list[Any]:
        try:
            rows = self._cursor.fetchmany(self._batch_size)
        except self._driver.errors as exc:
            self._fail("failed", exc)
        # MySQL's SLEEP() returns normally when killed: the flag, not an error, tells us it was cancelled.
        if self._cancel_requested.is_set():
            self._fail("cancelled", None)
        return list(rows)

    def _to_batch(self, batcher: RowBatcher, rows: list[Any]) -> pa.RecordBatch:
        try:
            return batcher.to_batch(rows)
        except QueryFailedError:
            with self._lock:
                self._state = "failed"
            raise

    def _fail(self, state: str, exc: BaseException | None) -> NoReturn:
        cancelled = self._cancel_requested.is_set() or (exc is not None and self._driver.is_cancel(exc))
        with self._lock:
            if self._state != "closed":
                self._state = "cancelled" if cancelled else state
        if cancelled:
            raise QueryCancelledError() from exc
        assert exc is not None
        raise QueryFailedError(self._driver.message(exc)) from exc

    def _finish(self) -> None:
        with self._lock:
            if self._state != "running":
                return
            self._state = "done"
        try:
            self._driver.close_cursor(self._cursor)
            # Statements that changed data are meant to stick, as in any SQL client.
            self._connection.commit()
        except self._driver.errors as exc:
            self._fail("failed", exc)

    def _discard(self) -> None:
        if self._cursor is not None:
            try:
                self._driver.abandon_cursor(self._cursor)
            except self._driver.errors as exc:
                logger.debug("closing the cursor of a failed statement: %s", exc)
        self._connection.invalidate()

    def _release(self) -> None:
        errors: tuple[type[BaseException], ...] = (*self._driver.errors, SQLAlchemyError)
        try:
            if self._cursor is not None:
                self._driver.close_cursor(self._cursor)
            self._connection.close()  # the pool's reset-on-return rolls back
        except errors:
            self._connection.invalidate()
