"""What differs between the DBAPI drivers: paramstyle, server-side cursors, cancel, types and messages.

`dialect_for(kind)` picks the `DriverDialect` of a source kind: psycopg 3 for PostgreSQL, pymysql for
MySQL/MariaDB, sqlite3 for SQLite files. Each cancels a running statement with its driver's own
mechanism, called from another thread than the one reading the cursor.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg
import pymysql
import pymysql.cursors
import sqlalchemy as sa

from openlytics.engines.sql.batching import ColumnPlan
from openlytics.engines.sql.types import mysql_column_plan, postgres_column_plan

if TYPE_CHECKING:
    from openlytics.engines.sql.engine import SQLAlchemySourceEngine

CONNECT_TIMEOUT_SECONDS = 5

logger = logging.getLogger(__name__)


class DriverDialect:
    """What differs between DBAPI drivers: paramstyle, server-side cursors, cancel, types, messages."""

    placeholder = "%s"
    #: whether a half-read cursor can be closed cheaply (a MySQL SSCursor would read the rest first)
    can_abandon_cursor = True
    errors: tuple[type[BaseException], ...] = ()

    def connect_args(self, timeout: int) -> dict[str, Any]:
        """DBAPI `connect()` arguments, including a connect timeout so dead hosts fail fast."""
        return {"connect_timeout": timeout}

    def on_connect(self, dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        """SQLAlchemy's `do_connect` hook: return a new DBAPI connection, or None for the default."""
        return None

    def escape_literal_text(self, text: str) -> str:
        """SQL text around bound values: pyformat drivers read `%` as a placeholder start."""
        return text.replace("%", "%%")

    def listed_schemas(self, inspector: sa.Inspector) -> list[str | None]:
        """The schemas whose tables `list_tables` shows (None: the connection's default)."""
        return [None]

    def open_cursor(self, connection: Any, sql: str, params: list[Any] | None) -> Any:
        """Run the statement on a (server-side where possible) cursor."""
        cursor = connection.cursor()
        cursor.execute(sql, params)
        return cursor

    def close_cursor(self, cursor: Any) -> None:
        """Close a cursor."""
        cursor.close()

    def abandon_cursor(self, cursor: Any) -> None:
        """Let go of a cursor whose connection is about to be discarded."""
        cursor.close()

    def column_plan(self, name: str, column: Sequence[Any], cursor: Any) -> ColumnPlan:
        """The Arrow plan of one `cursor.description` entry."""
        return ColumnPlan(name)

    def cancel(self, connection: Any, engine: SQLAlchemySourceEngine) -> None:
        """Interrupt the statement running on `connection` (called from another thread)."""
        raise NotImplementedError

    def is_cancel(self, exc: BaseException) -> bool:
        """Whether `exc` is the driver's report of an interrupted statement."""
        return False

    def message(self, exc: BaseException | None) -> str:
        """The database's own message, without driver decorations."""
        return " ".join(str(exc).split()) if exc is not None else "unknown error"

    def log_cancel_failure(self, exc: BaseException) -> None:
        """Record that the driver-level cancel failed."""
        logger.warning("cancelling a %s statement failed: %s", type(self).__name__, exc)


_PG_QUERY_START = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*(\w+)", re.DOTALL)


class PostgresDialect(DriverDialect):
    """psycopg 3: named (server-side) cursors for queries, `cancel_safe()`, types from OIDs."""

    errors = (psycopg.Error,)

    def connect_args(self, timeout: int) -> dict[str, Any]:
        return {"connect_timeout": timeout, "application_name": "openlytics"}

    def listed_schemas(self, inspector: sa.Inspector) -> list[str | None]:
        names = inspector.get_schema_names()
        return [n for n in names if not n.startswith("pg_") and n != "information_schema"]

    def open_cursor(self, connection: Any, sql: str, params: list[Any] | None) -> Any:
        match = _PG_QUERY_START.match(sql)
        first_word = match.group(1).upper() if match else ""
        # DECLARE ... CURSOR only takes queries; other statements run on a client cursor.
        if first_word in ("SELECT", "WITH", "VALUES", "TABLE"):
            cursor = connection.cursor(name=f"openlytics_{uuid.uuid4().hex}")
        else:
            cursor = connection.cursor()
        cursor.execute(sql, params)
        return cursor

    def column_plan(self, name: str, column: Sequence[Any], cursor: Any) -> ColumnPlan:
        return postgres_column_plan(name, column)

    def cancel(self, connection: Any, engine: SQLAlchemySourceEngine) -> None:
        connection.cancel_safe(timeout=CONNECT_TIMEOUT_SECONDS)

    def is_cancel(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.errors.QueryCanceled)

    def message(self, exc: BaseException | None) -> str:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None)
        return str(primary) if primary else super().message(exc)


_MYSQL_INTERRUPTED = 1317


class MySQLDialect(DriverDialect):
    """pymysql: `SSCursor` streaming, `KILL QUERY` from a side connection, types from FIELD_TYPE codes."""

    can_abandon_cursor = False
    errors = (pymysql.Error,)

    def on_connect(self, dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        # pymysql's connect_timeout covers only the TCP connect; the handshake reads with read_timeout,
        # so a host that accepts and stays silent would hang. Bound the handshake, then lift the limit
        # (queries may run long; cancel() stops them), as pymysql re-applies `_read_timeout` on each read.
        connection = pymysql.connect(*cargs, **{**cparams, "read_timeout": cparams.get("connect_timeout")})
        connection._read_timeout = None
        return connection

    def open_cursor(self, connection: Any, sql: str, params: list[Any] | None) -> Any:
        cursor = connection.cursor(pymysql.cursors.SSCursor)
        cursor.execute(sql, params)
        return cursor

    def abandon_cursor(self, cursor: Any) -> None:
        # Closing an SSCursor reads every remaining row, and its result's __del__ tries the same on a
        # closed socket; marking the result finished lets the connection simply be thrown away.
        result = getattr(cursor, "_result", None)
        if result is not None:
            result.unbuffered_active = False

    def column_plan(self, name: str, column: Sequence[Any], cursor: Any) -> ColumnPlan:
        return mysql_column_plan(name, column, cursor)

    def cancel(self, connection: Any, engine: SQLAlchemySourceEngine) -> None:
        thread_id = connection.thread_id()
        side = engine.open_side_connection()
        try:
            with side.cursor() as cursor:
                cursor.execute("KILL QUERY %s", (thread_id,))
        finally:
            side.close()

    def is_cancel(self, exc: BaseException) -> bool:
        return bool(exc.args) and exc.args[0] == _MYSQL_INTERRUPTED

    def message(self, exc: BaseException | None) -> str:
        args: tuple[Any, ...] = getattr(exc, "args", ())
        if len(args) >= 2 and isinstance(args[1], str):
            return args[1]
        return super().message(exc)


class SQLiteDialect(DriverDialect):
    """sqlite3: `?` placeholders, plain cursors (SQLite steps lazily), `interrupt()`, inferred types."""

    placeholder = "?"
    errors = (sqlite3.Error,)

    def connect_args(self, timeout: int) -> dict[str, Any]:
        # Pooled connections move between threads; cancel calls interrupt() from yet another.
        return {"timeout": timeout, "check_same_thread": False}

    def escape_literal_text(self, text: str) -> str:
        return text

    def open_cursor(self, connection: Any, sql: str, params: list[Any] | None) -> Any:
        cursor = connection.cursor()
        cursor.execute(sql, params or ())
        return cursor

    def cancel(self, connection: Any, engine: SQLAlchemySourceEngine) -> None:
        connection.interrupt()

    def is_cancel(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc)


def dialect_for(kind: str) -> DriverDialect:
    """The driver dialect of a source kind."""
    dialects: dict[str, type[DriverDialect]] = {
        "postgresql": PostgresDialect,
        "mysql": MySQLDialect,
        "sqlite": SQLiteDialect,
    }
    return dialects[kind]()
