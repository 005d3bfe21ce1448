"""External SQL databases (PostgreSQL, MySQL/MariaDB, SQLite files) behind the `SourceEngine` interface.

SQLAlchemy only pools connections (with pre-ping) and inspects catalogs; statements run on the raw DBAPI
connection so results stream from server-side cursors (psycopg named cursors, pymysql `SSCursor`) and
can be cancelled with each driver's own mechanism. `RowBatcher` turns rows into Arrow batches.
Executions start lazily, on the first use of `schema` or `batches()`, so the caller holds the
`Execution` (and can cancel it) before any long-running work begins. `duckdb:///path` URLs are served
by a non-sandboxed `DuckDBEngine`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import psycopg
import pyarrow as pa
import pymysql
import pymysql.cursors
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from openlytics.core.errors import QueryCancelledError, QueryFailedError, SourceUnavailableError
from openlytics.engines.base import (
    BindValue,
    ColumnInfo,
    Execution,
    SourceEngine,
    Statement,
    TableInfo,
    unique_names,
)
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.engines.urls import mask_password, parse_source_url

CONNECT_TIMEOUT_SECONDS = 5

logger = logging.getLogger(__name__)


class SQLAlchemySourceEngine(SourceEngine):
    """An external database given by URL; one connection pool per engine."""

    def __init__(self, url: str, *, name: str | None = None) -> None:
        parsed = parse_source_url(url)
        self.dialect = parsed.kind
        self.source_name = name or mask_password(url)
        self._duckdb: DuckDBEngine | None = None
        self._engine: Engine | None = None
        if parsed.kind == "duckdb":
            assert parsed.file_path is not None
            self._duckdb = DuckDBEngine(parsed.file_path, read_only=False, sandboxed=False)
            return
        self._driver = dialect_for(parsed.kind)
        self._engine = sa.create_engine(
            parsed.sqlalchemy_url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args=self._driver.connect_args(CONNECT_TIMEOUT_SECONDS),
        )
        sa.event.listen(self._engine, "do_connect", self._driver.on_connect)

    def execute(self, statement: Statement, *, batch_size: int = 65_536) -> Execution:
        """Check out a connection and return the (not yet started) execution of `statement`."""
        if self._duckdb is not None:
            return self._duckdb.execute(statement, batch_size=batch_size)
        sql, params = self._driver_sql(statement)
        return SQLExecution(self, self._checkout(), sql, params, batch_size)

    def test_connection(self) -> None:
        """Run `SELECT 1`; raise SourceUnavailableError when the database cannot be reached."""
        if self._duckdb is not None:
            self._duckdb.test_connection()
            return
        with self.execute(Statement.plain("SELECT 1")) as execution:
            for _batch in execution.batches():
                pass

    def list_tables(self) -> list[TableInfo]:
        """Tables and views with their columns, from SQLAlchemy's inspector."""
        if self._duckdb is not None:
            return self._duckdb.list_tables()
        try:
            inspector = sa.inspect(self._sa_engine)
            return [
                table
                for schema in self._driver.listed_schemas(inspector)
                for table in _tables_of_schema(inspector, schema)
            ]
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_connect_error(exc):
                raise SourceUnavailableError(self.source_name, self._driver.message(exc.orig)) from exc
            raise QueryFailedError(self._driver.message(exc.orig)) from exc
        except SQLAlchemyError as exc:
            raise QueryFailedError(str(exc)) from exc

    def close(self) -> None:
        """Dispose of the connection pool (or close the DuckDB file)."""
        if self._duckdb is not None:
            self._duckdb.close()
        if self._engine is not None:
            self._engine.dispose()

    @property
    def _sa_engine(self) -> Engine:
        assert self._engine is not None
        return self._engine

    def _driver_sql(self, statement: Statement) -> tuple[str, list[Any] | None]:
        if not statement.has_binds:
            return "".join(f for f in statement.fragments if isinstance(f, str)), None
        parts: list[str] = []
        for fragment in statement.fragments:
            if isinstance(fragment, BindValue):
                parts.append(self._driver.placeholder)
            else:
                parts.append(self._driver.escape_literal_text(fragment))
        return "".join(parts), statement.bound_values()

    def _checkout(self) -> PoolProxiedConnection:
        # The pool hands out the driver's own connect errors unwrapped; SQLAlchemy's wrap some others.
        try:
            return self._sa_engine.raw_connection()
        except DBAPIError as exc:
            raise SourceUnavailableError(self.source_name, self._driver.message(exc.orig)) from exc
        except self._driver.errors as exc:
            raise SourceUnavailableError(self.source_name, self._driver.message(exc)) from exc
        except SQLAlchemyError as exc:
            raise SourceUnavailableError(self.source_name, str(exc)) from exc

    def open_side_connection(self) -> Any:
        """A fresh DBAPI connection outside the pool (MySQL's `KILL QUERY` needs one)."""
        args, kwargs = self._sa_engine.dialect.create_connect_args(self._sa_engine.url)
        return self._sa_engine.dialect.loaded_dbapi.connect(*args, **kwargs)


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
        """Interrupt the statement with the driver's cancel; it then raises QueryCancelledError."""
        self._cancel_requested.set()
        with self._lock:
            running = self._state == "running"
        if running:
            try:
                self._driver.cancel(self._connection.dbapi_connection, self._engine)
            except Exception as exc:  # noqa: BLE001 - cancel is best effort; the flag still stops the stream
                self._driver.log_cancel_failure(exc)

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


def _tables_of_schema(inspector: sa.Inspector, schema: str | None) -> list[TableInfo]:
    tables: list[TableInfo] = []
    listed = [("table", inspector.get_table_names(schema)), ("view", inspector.get_view_names(schema))]
    for kind, names in listed:
        for name in names:
            columns = [
                ColumnInfo(str(col["name"]), sqlalchemy_logical_type(col["type"]))
                for col in inspector.get_columns(name, schema)
            ]
            tables.append(TableInfo(name=name, schema=schema, columns=columns, kind=kind))
    return tables


def sqlalchemy_logical_type(type_: Any) -> str:
    """Map a reflected SQLAlchemy column type onto a logical type name."""
    checks: list[tuple[type[Any], str]] = [
        (sa.Boolean, "boolean"),
        (sa.Integer, "integer"),
        (sa.Float, "float"),  # before Numeric: Float is a subclass of Numeric
        (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"),
        (sa.Date, "date"),
        (sa.Time, "time"),
        (sa.Interval, "interval"),
        (sa.ARRAY, "list"),
        (sa.JSON, "string"),
        (sa.Uuid, "string"),
        (sa.String, "string"),
        (sa.LargeBinary, "binary"),
        (sa.types._Binary, "binary"),
    ]
    for cls, logical in checks:
        if isinstance(type_, cls):
            return logical
    name = type(type_).__name__.upper()
    if name in ("YEAR", "TINYINT", "MEDIUMINT"):
        return "integer"
    if name == "BIT":
        return "binary"
    if re.match(r"^(INET|CIDR|MACADDR|MONEY|TSVECTOR|CITEXT|XML)", name):
        return "string"
    return name.lower()


def _is_connect_error(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError)


# --- Rows to Arrow -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPlan:
    """How one result column becomes Arrow: a type the driver declared (None: infer), a value converter."""

    name: str
    type: pa.DataType | None = None
    convert: Callable[[Any], Any] | None = None


class RowBatcher:
    """Turns row tuples into record batches whose schema the first batch fixes for good.

    A declared type whose values do not fit in the first batch (MySQL TIME past 24 h, zero dates,
    PostgreSQL NaN numerics) falls back to string, as does an inferred column of mixed types.
    Later batches are converted to the fixed schema; a value that cannot be converted without
    loss fails the query with a message naming the column, as the schema was already sent.
    """

    def __init__(self, plans: list[ColumnPlan], batch_size: int) -> None:
        self._plans = plans
        self._batch_size = batch_size
        self._types: list[pa.DataType] = []
        self.schema = pa.schema([])

    def fix_schema(self, first_rows: list[Any]) -> None:
        """Choose every column's type from the driver's declaration and the first batch's values."""
        columns = _transpose(first_rows, len(self._plans))
        last_batch = len(first_rows) < self._batch_size
        self._types = [
            self._first_type(plan, values, last_batch)
            for plan, values in zip(self._plans, columns, strict=True)
        ]
        self.schema = pa.schema([pa.field(p.name, t) for p, t in zip(self._plans, self._types, strict=True)])

    def to_batch(self, rows: list[Any]) -> pa.RecordBatch:
        """Convert rows to a batch of `self.schema` (fixed by `fix_schema` first)."""
        columns = _transpose(rows, len(self._plans))
        arrays = []
        for plan, arrow_type, values in zip(self._plans, self._types, columns, strict=True):
            try:
                arrays.append(_to_array(plan, arrow_type, values))
            except _CONVERSION_ERRORS as exc:
                raise QueryFailedError(
                    f"column {plan.name!r}: a value does not fit the type {arrow_type} of earlier rows: {exc}"
                ) from exc
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    @staticmethod
    def _first_type(plan: ColumnPlan, values: list[Any], last_batch: bool) -> pa.DataType:
        if plan.type is not None:
            try:
                _to_array(plan, plan.type, values)
                return plan.type
            except _CONVERSION_ERRORS:
                return pa.string()
        non_null = [v for v in values if v is not None]
        if not non_null:
            # A column of only NULLs: the null type is exact when no more rows come; otherwise text
            # is the one type any later value can still be converted into.
            return pa.null() if last_batch else pa.string()
        try:
            inferred = pa.array(non_null).type
        except _CONVERSION_ERRORS:
            return pa.string()
        return pa.string() if pa.types.is_null(inferred) else inferred


_CONVERSION_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    OverflowError,
    ValueError,
    TypeError,
)


def _transpose(rows: list[Any], width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _to_array(plan: ColumnPlan, arrow_type: pa.DataType, values: list[Any]) -> pa.Array:
    declared = plan.type is not None and plan.type.equals(arrow_type)
    if declared and plan.convert is not None:
        values = [None if v is None else plan.convert(v) for v in values]
    if pa.types.is_string(arrow_type):
        return pa.array([None if v is None else _as_text(v) for v in values], pa.string())
    if declared:
        return pa.array(values, type=arrow_type)
    # An inferred type: infer again and cast safely, because `pa.array([1.5], pa.int64())` truncates silently.
    return pa.array(values).cast(arrow_type, safe=True)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# --- Drivers -------------------------------------------------------------------------------------------


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


_PG_STRING_OIDS = {18, 19, 25, 1042, 1043, 705}
# timetz, uuid, inet, cidr, macaddr, macaddr8, money, bit, varbit, tsvector, xml: shown as text
_PG_TEXT_OIDS = {1266, 2950, 869, 650, 829, 774, 790, 1560, 1562, 3614, 142}
_PG_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.duration("us"),
    17: pa.binary(),
}
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
        oid = column[1]
        if oid in _PG_TYPES:
            return ColumnPlan(name, _PG_TYPES[oid])
        if oid in _PG_STRING_OIDS or oid in _PG_TEXT_OIDS:
            return ColumnPlan(name, pa.string())
        if oid in (114, 3802):  # json, jsonb: psycopg parses them; hand them on as JSON text
            return ColumnPlan(name, pa.string(), _json_text)
        if oid == 1700:
            return _numeric_plan(name, getattr(column, "precision", None), getattr(column, "scale", None))
        return ColumnPlan(name)

    def cancel(self, connection: Any, engine: SQLAlchemySourceEngine) -> None:
        connection.cancel_safe(timeout=CONNECT_TIMEOUT_SECONDS)

    def is_cancel(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.errors.QueryCanceled)

    def message(self, exc: BaseException | None) -> str:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None)
        return str(primary) if primary else super().message(exc)


_MYSQL_INT_CODES = {1, 2, 3, 8, 9, 13}  # TINY, SHORT, LONG, LONGLONG, INT24, YEAR
_MYSQL_TEXT_CODES = {15, 247, 248, 249, 250, 251, 252, 253, 254}  # VARCHAR, ENUM, SET, BLOBs, (VAR_)STRING
_MYSQL_TYPES: dict[int, pa.DataType] = {
    4: pa.float32(),
    5: pa.float64(),
    6: pa.null(),
    7: pa.timestamp("us"),
    12: pa.timestamp("us"),
    10: pa.date32(),
    14: pa.date32(),
    16: pa.binary(),
    245: pa.string(),
    255: pa.binary(),
}
_MYSQL_BINARY_CHARSET = 63
_MYSQL_UNSIGNED_FLAG = 32
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
        code, length, scale = column[1], column[4] or 0, column[5] or 0
        charset, flags = _mysql_field_flags(cursor, name, column)
        if code in _MYSQL_INT_CODES:
            unsigned_bigint = code == 8 and flags & _MYSQL_UNSIGNED_FLAG
            return ColumnPlan(name, pa.uint64() if unsigned_bigint else pa.int64())
        if code in (0, 246):
            # MySQL counts the decimal point and, unless unsigned, a sign in a DECIMAL's display length.
            unsigned = bool(flags & _MYSQL_UNSIGNED_FLAG)
            return _numeric_plan(name, length - (1 if scale else 0) - (0 if unsigned else 1), scale)
        if code == 11:
            return ColumnPlan(name, pa.time64("us"), _timedelta_to_time)
        if code in _MYSQL_TEXT_CODES:
            if charset is None:
                return ColumnPlan(name)
            return ColumnPlan(name, pa.binary() if charset == _MYSQL_BINARY_CHARSET else pa.string())
        if code in _MYSQL_TYPES:
            return ColumnPlan(name, _MYSQL_TYPES[code])
        return ColumnPlan(name)

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


def _numeric_plan(name: str, precision: int | None, scale: int | None) -> ColumnPlan:
    if not precision or precision <= 0 or scale is None:
        return ColumnPlan(name, pa.float64(), float)  # unconstrained NUMERIC: no exact Arrow type fits all
    if precision <= 38:
        return ColumnPlan(name, pa.decimal128(precision, scale))
    if precision <= 76:
        return ColumnPlan(name, pa.decimal256(precision, scale))
    return ColumnPlan(name, pa.string())


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _timedelta_to_time(value: Any) -> dt.time:
    # MySQL TIME is a duration (-838:59:59 to 838:59:59); only a time of day fits Arrow's time type.
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) <= value < dt.timedelta(days=1):
        raise ValueError(f"{value!r} is not a time of day")
    return (dt.datetime.min + value).time()


def _mysql_field_flags(cursor: Any, name: str, column: Sequence[Any]) -> tuple[int | None, int]:
    # pymysql's description lacks charset and flags; its result's field list (stable for years) has them.
    fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
    for field in fields:
        if field.name == column[0]:
            return field.charsetnr, field.flags
    return None, 0
