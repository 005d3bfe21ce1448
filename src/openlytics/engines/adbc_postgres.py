"""ADBC connections to PostgreSQL: libpq URIs, a small per-process pool, and PostgreSQL's own messages.

Connecting with ADBC costs ~50 ms (it reads the type catalog), reusing a connection ~0.5 ms, so the
warehouse's dataset tables (`postgres_tables.py`) share one pool per URL in each process.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import adbc_driver_postgresql.dbapi as pg_dbapi
from adbc_driver_manager import dbapi as adbc
from sqlalchemy.engine import make_url

from openlytics.core.errors import QueryFailedError, SourceUnavailableError
from openlytics.engines.file_loader import clean_message
from openlytics.engines.sql.drivers import CONNECT_TIMEOUT_SECONDS
from openlytics.engines.urls import parse_source_url

_POOL_IDLE = 4  # idle connections kept per URL; more are opened while more threads need them
_PING_AFTER_SECONDS = 5.0  # an idle connection older than this is checked before reuse


# ----- errors ---------------------------------------------------------------------------------------
def query_failed(exc: BaseException) -> QueryFailedError:
    """PostgreSQL's own message (ADBC wraps it in status codes and the statement)."""
    primary = diagnostic(exc, b"PG_DIAG_MESSAGE_PRIMARY")
    if primary:
        detail = diagnostic(exc, b"PG_DIAG_MESSAGE_DETAIL")
        return QueryFailedError(f"{primary} ({detail})" if detail else primary)
    message = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", clean_message(exc))
    return QueryFailedError(message)


def diagnostic(exc: BaseException, name: bytes) -> str | None:
    for key, value in getattr(exc, "details", None) or []:
        if key == name:
            return bytes(value).decode("utf-8", "replace").strip()
    return None


# ----- connections ----------------------------------------------------------------------------------
def libpq_uri(url: str) -> str:
    """A libpq URI from an SQLAlchemy-style PostgreSQL URL (`+driver` dropped, a connect timeout)."""
    parsed = make_url(parse_source_url(url).sqlalchemy_url).set(drivername="postgresql")
    query = {"connect_timeout": str(CONNECT_TIMEOUT_SECONDS), "application_name": "openlytics"}
    parsed = parsed.update_query_dict({k: v for k, v in query.items() if k not in parsed.query})
    return parsed.render_as_string(hide_password=False)


class AdbcPool:
    """Idle ADBC connections to one URL, shared by every thread of a process (connecting takes ~50 ms:
    ADBC reads the type catalog). A connection is used by one transaction at a time."""

    def __init__(self, uri: str, source: str) -> None:
        self.uri = uri
        self.source = source
        self._idle: list[tuple[adbc.Connection, float]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def acquire(self) -> adbc.Connection:
        while True:
            with self._lock:
                if self._pid != os.getpid():  # forked: the parent's sockets are not ours to use
                    self._idle, self._pid = [], os.getpid()
                idle = self._idle.pop() if self._idle else None
            if idle is None:
                return self._connect()
            conn, since = idle
            if time.monotonic() - since < _PING_AFTER_SECONDS or alive(conn):
                return conn
            close_quietly(conn)

    def release(self, conn: adbc.Connection, reuse: bool) -> None:
        if reuse:
            with self._lock:
                if len(self._idle) < _POOL_IDLE and self._pid == os.getpid():
                    self._idle.append((conn, time.monotonic()))
                    return
        close_quietly(conn)

    @contextmanager
    def connection(self) -> Iterator[adbc.Connection]:
        """A connection for one transaction; rolled back if the block fails."""
        conn = self.acquire()
        try:
            yield conn
        except BaseException:
            self.release(conn, rolled_back(conn))
            raise
        self.release(conn, True)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            close_quietly(conn)

    def _connect(self) -> adbc.Connection:
        try:
            return pg_dbapi.connect(self.uri)
        except adbc.Error as exc:
            raise SourceUnavailableError(self.source, query_failed(exc).engine_message) from exc


_POOLS: dict[str, AdbcPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(uri: str, source: str) -> AdbcPool:
    with _POOLS_LOCK:
        pool = _POOLS.get(uri)
        if pool is None:
            pool = _POOLS[uri] = AdbcPool(uri, source)
        return pool


def alive(conn: adbc.Connection) -> bool:
    try:
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()
        conn.rollback()
    except adbc.Error:
        return False
    return True


def rolled_back(conn: adbc.Connection) -> bool:
    """Roll back; whether the connection is fit for reuse."""
    try:
        conn.rollback()
    except adbc.Error:
        return False
    return True


def close_quietly(conn: adbc.Connection) -> None:
    # RuntimeError: a statement still open; the connection is closed anyway.
    with suppress(adbc.Error, RuntimeError):
        conn.close()
