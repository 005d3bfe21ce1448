"""The DuckDB engine: the embedded warehouse (sandboxed) and DuckDB files given as data sources.

One `duckdb.connect` per engine; every `Execution` gets its own cursor, which DuckDB makes safe to use from
its own thread and interruptible from any other. Executions start lazily: `execute` only parses the SQL
(so syntax errors raise there) and the statement runs when `schema` or `batches()` is first used, so the
caller holds the `Execution`, and can cancel it, before any long work begins.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb
import pyarrow as pa

from openlytics.core.errors import (
    QueryCancelledError,
    QueryFailedError,
    SourceUnavailableError,
)
from openlytics.engines.base import (
    BindValue,
    ColumnInfo,
    Execution,
    SourceEngine,
    Statement,
    TableInfo,
    unique_names,
)

if TYPE_CHECKING:
    from openlytics.engines.duckdb_tables import DuckDBWarehouseTables

#: Arrow data trusted server code may expose to one statement under a name (see `DuckDBEngine.execute`).
ArrowData: TypeAlias = pa.Table | pa.RecordBatchReader

# What user SQL in the embedded warehouse must not do: touch server files (read_csv, COPY, ATTACH, EXPORT),
# reach the network, install or load extensions, or undo any of this with SET. `lock_configuration` comes
# last in spirit: every option is fixed at connect time and no statement can change any of them.
_SANDBOX_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "lock_configuration": True,
}

_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")

_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "INT", "INT1", "INT2", "INT4", "INT8", "LONG", "SHORT", "SIGNED",
}  # fmt: skip
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"}
_STRING_TYPES = {"VARCHAR", "UUID", "JSON", "TEXT", "STRING", "CHAR", "BPCHAR", "ENUM"}
_BINARY_TYPES = {"BLOB", "BIT", "BYTEA", "VARBINARY", "BITSTRING"}


def duckdb_logical_type(type_name: str) -> str:
    """Map a DuckDB type name (as information_schema spells it) onto a logical type name."""
    name = type_name.strip().upper()
    if name.endswith("]"):
        return "list"
    base = re.split(r"[\s(]", name, maxsplit=1)[0]
    if base in ("STRUCT", "MAP", "UNION"):
        return "struct"
    if base in ("DECIMAL", "NUMERIC"):
        return "decimal"
    if base in _INTEGER_TYPES:
        return "integer"
    if base in _FLOAT_TYPES:
        return "float"
    if base in ("BOOLEAN", "BOOL", "LOGICAL"):
        return "boolean"
    if base.startswith("TIMESTAMP") or base == "DATETIME":
        return "datetime"
    if base == "DATE":
        return "date"
    if base.startswith("TIME"):
        return "time"
    if base == "INTERVAL":
        return "interval"
    if base in _STRING_TYPES:
        return "string"
    if base in _BINARY_TYPES:
        return "binary"
    if base == "NULL":
        return "null"
    return name.lower()


def to_duckdb_sql(statement: Statement) -> tuple[str, dict[str, Any]]:
    """SQL text with `$p0, $p1, ...` named parameters and their values."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for fragment in statement.fragments:
        if isinstance(fragment, BindValue):
            name = f"p{len(params)}"
            params[name] = fragment.value
            parts.append(f"${name}")
        else:
            parts.append(fragment)
    return "".join(parts), params


class DuckDBEngine(SourceEngine):
    """A DuckDB database file; `sandboxed=True` for the warehouse where users type SQL."""

    dialect = "duckdb"

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
        sandboxed: bool = False,
    ) -> None:
        self.path = Path(path)
        self.sandboxed = sandboxed
        self.memory_limit = memory_limit
        self.threads = threads
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        if sandboxed:
            config.update(_SANDBOX_CONFIG)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise SourceUnavailableError(str(self.path), str(exc)) from exc
        # `cursor()` mutates the shared connection's bookkeeping; DuckDB does not promise it is thread-safe.
        self._lock = threading.Lock()
        self._closed = False

    def execute(
        self,
        statement: Statement,
        *,
        batch_size: int = 65_536,
        tables: Mapping[str, ArrowData] | None = None,
    ) -> DuckDBExecution:
        """Parse `statement` and return its (not yet started) execution.

        `tables` is for trusted server code only: each Arrow table or reader is readable by this one
        statement under its name (e.g. `CREATE TABLE t AS SELECT * FROM incoming` to load a dataset).
        """
        sql, params = to_duckdb_sql(statement)
        cursor = self._cursor()
        try:
            # Parsing runs nothing, so syntax errors surface here, before the caller holds the Execution.
            cursor.extract_statements(sql)
            for name, data in (tables or {}).items():
                cursor.register(name, data)
        except duckdb.Error as exc:
            cursor.close()
            raise QueryFailedError(_clean_message(exc)) from exc
        return DuckDBExecution(cursor, sql, params, batch_size)

    def test_connection(self) -> None:
        """Run a trivial query."""
        cursor = self._cursor()
        try:
            cursor.execute("SELECT 1").fetchall()
        except duckdb.Error as exc:
            raise SourceUnavailableError(str(self.path), str(exc)) from exc
        finally:
            cursor.close()

    def list_tables(self) -> list[TableInfo]:
        """Tables and views of the database's own catalog, system schemas skipped."""
        cursor = self._cursor()
        try:
            rows = cursor.execute(
                """
                SELECT t.table_schema, t.table_name, t.table_type, c.column_name, c.data_type
                FROM information_schema.tables t
                JOIN information_schema.columns c
                  ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema
                 AND c.table_name = t.table_name
                WHERE t.table_catalog = current_database() AND t.table_schema NOT IN $system
                ORDER BY t.table_schema, t.table_name, c.ordinal_position
                """,
                {"system": list(_SYSTEM_SCHEMAS)},
            ).fetchall()
        except duckdb.Error as exc:
            raise QueryFailedError(_clean_message(exc)) from exc
        finally:
            cursor.close()
        return _group_tables(rows)

    def close(self) -> None:
        """Close the connection; executions still open fail from now on."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._con.close()

    def warehouse_tables(self) -> DuckDBWarehouseTables:
        """Table management for trusted server code (datasets): see `WarehouseTables`."""
        from openlytics.engines.duckdb_tables import DuckDBWarehouseTables

        return DuckDBWarehouseTables(self)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._closed:
                raise SourceUnavailableError(str(self.path), "engine is closed")
            return self._con.cursor()


class DuckDBExecution(Execution):
    """One statement on its own cursor; runs on first use of `schema` or `batches()`."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], batch_size: int):
        self._cursor = cursor
        self._sql = sql
        self._params = params
        self._batch_size = batch_size
        self._reader: pa.RecordBatchReader | None = None
        self._schema: pa.Schema | None = None
        self._cancelled = threading.Event()
        self._closed = False

    @property
    def schema(self) -> pa.Schema:
        """The result schema, column names made unique; starts the statement if needed."""
        self._start()
        assert self._schema is not None
        return self._schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the result in batches of about `batch_size` rows."""
        reader = self._start()
        schema = self.schema
        while True:
            with self._mapped_errors():
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
            yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)

    def cancel(self) -> None:
        """Interrupt the statement; it then raises QueryCancelledError."""
        self._cancelled.set()
        if not self._closed:
            self._cursor.interrupt()

    def close(self) -> None:
        """Close the reader and the cursor."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.close()
        self._cursor.close()

    def _start(self) -> pa.RecordBatchReader:
        if self._reader is not None:
            return self._reader
        if self._cancelled.is_set():
            raise QueryCancelledError()
        with self._mapped_errors():
            relation = self._cursor.sql(self._sql, params=self._params or None)
            if relation is None:  # a statement with no result at all, e.g. SET
                reader = pa.RecordBatchReader.from_batches(pa.schema([]), [])
            else:
                reader = relation.to_arrow_reader(self._batch_size)
        names = unique_names(reader.schema.names)
        fields = [field.with_name(name) for field, name in zip(reader.schema, names, strict=True)]
        self._schema = pa.schema(fields)
        self._reader = reader
        return reader

    @contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        # Errors met while streaming come out of the Arrow reader as ArrowException/OSError, not duckdb.Error.
        try:
            yield
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            if self._cancelled.is_set() or isinstance(exc, duckdb.InterruptException):
                raise QueryCancelledError() from exc
            raise QueryFailedError(_clean_message(exc)) from exc


def _clean_message(exc: BaseException) -> str:
    return str(exc).strip()


def _group_tables(rows: list[tuple[str, str, str, str, str]]) -> list[TableInfo]:
    tables: dict[tuple[str, str], TableInfo] = {}
    for schema, name, table_type, column, data_type in rows:
        info = tables.get((schema, name))
        if info is None:
            kind = "view" if table_type.upper() == "VIEW" else "table"
            info = tables[(schema, name)] = TableInfo(name=name, schema=schema, kind=kind)
        info.columns.append(ColumnInfo(column, duckdb_logical_type(data_type)))
    return list(tables.values())
