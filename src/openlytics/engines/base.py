"""The interface every query engine implements.

An engine runs one statement at a time per `Execution`, streams Arrow record batches with one
consistent schema, and can be interrupted from another thread. Engine errors are mapped onto the
core's typed errors: `QueryFailedError` (the engine's own message), `QueryCancelledError`
(interrupted by `cancel()`), `SourceUnavailableError` (cannot connect).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class BindValue:
    """A parameter value bound into a statement; never spliced into SQL text."""

    value: Any


@dataclass(frozen=True)
class Statement:
    """SQL split into literal text fragments and bound values, in order."""

    fragments: tuple[str | BindValue, ...]

    @classmethod
    def plain(cls, sql: str) -> Statement:
        """A statement without parameters."""
        return cls((sql,))

    @property
    def has_binds(self) -> bool:
        """Whether any value is bound."""
        return any(isinstance(f, BindValue) for f in self.fragments)

    def display_sql(self) -> str:
        """Readable SQL for logs, hashes and UIs (binds shown as `:1`, `:2`, ...)."""
        out: list[str] = []
        n = 0
        for fragment in self.fragments:
            if isinstance(fragment, BindValue):
                n += 1
                out.append(f":{n}")
            else:
                out.append(fragment)
        return "".join(out)

    def bound_values(self) -> list[Any]:
        """The bound values in order."""
        return [f.value for f in self.fragments if isinstance(f, BindValue)]


@dataclass(frozen=True)
class ColumnInfo:
    """A column of a table or result: name and a logical type name (see `logical_type`)."""

    name: str
    type: str


@dataclass(frozen=True)
class TableInfo:
    """A table or view of a data source, with its columns."""

    name: str
    schema: str | None = None
    columns: list[ColumnInfo] = field(default_factory=list)
    kind: str = "table"


class Execution(ABC):
    """One statement being executed. `cancel` is safe to call from any thread, at any time."""

    @property
    @abstractmethod
    def schema(self) -> pa.Schema:
        """The result schema; known once execution has started."""

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the result; every batch has `self.schema`."""

    @abstractmethod
    def cancel(self) -> None:
        """Interrupt the running statement (the engine's own cancel, not a thread kill)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection or cursor."""

    def __enter__(self) -> Execution:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SourceEngine(ABC):
    """A database queries run against."""

    def warehouse_tables(self) -> WarehouseTables:
        """Table management for datasets; only a warehouse engine has it."""
        raise NotImplementedError(f"{self.dialect} is not a warehouse engine")

    #: a short name: "duckdb", "postgresql", "mysql", "sqlite"
    dialect: str = ""

    @abstractmethod
    def execute(self, statement: Statement, *, batch_size: int = 65_536) -> Execution:
        """Start running `statement`; raise QueryFailedError on a syntax error."""

    @abstractmethod
    def test_connection(self) -> None:
        """Raise SourceUnavailableError if the source cannot be reached."""

    @abstractmethod
    def list_tables(self) -> list[TableInfo]:
        """Tables and views with their columns."""

    @abstractmethod
    def close(self) -> None:
        """Close pools and files."""

    def release_idle(self) -> None:
        """Close the connections nobody is using now; the engine stays usable and reconnects on
        demand, and connections in use are closed when given back. Nothing to do by default."""
        return None


def logical_type(arrow_type: pa.DataType) -> str:
    """Map an Arrow type onto the logical type names shown to users."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_time(arrow_type):
        return "time"
    if pa.types.is_duration(arrow_type) or pa.types.is_interval(arrow_type):
        return "interval"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "list"
    if pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        return "struct"
    return str(arrow_type)


def columns_of(schema: pa.Schema) -> list[ColumnInfo]:
    """Column infos of an Arrow schema."""
    return [ColumnInfo(f.name, logical_type(f.type)) for f in schema]


def unique_names(names: Sequence[str]) -> list[str]:
    """Make duplicate column names unique (`a`, `a_1`, ...) as Arrow files require distinct names."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        base = name or "column"
        candidate = base
        while candidate in seen:
            seen[base] += 1
            candidate = f"{base}_{seen[base]}"
        seen.setdefault(candidate, 0)
        out.append(candidate)
    return out


@dataclass(frozen=True)
class CsvOptions:
    """How to read a CSV file: UTF-8, a header line, gzip when the name ends in `.gz`."""

    delimiter: str = ","
    #: "auto" (gzip when the name ends in .gz), "gzip" or "none"
    compression: str = "auto"
    #: explicit Arrow types of some (or all) columns, by name; the others are inferred
    types: dict[str, pa.DataType] = field(default_factory=dict)
    #: maps an inferred Arrow type onto the type to load (e.g. time of day -> string)
    normalize: Callable[[pa.DataType], pa.DataType] | None = None


@dataclass(frozen=True)
class LoadMarks:
    """Names recorded with a load, in its transaction: "these `names` are loaded into `target`".

    The event pipeline marks the spool files whose rows it appends to a table, so a batch that
    comes back after a crash (its rows committed, its ack lost) skips what is already loaded."""

    target: str
    names: tuple[str, ...]


#: the warehouse table holding load marks (target, name, loaded_at); marks older than a day go
LOAD_MARKS_TABLE = "_openlytics_load_marks"


def load_marks_values(marks: LoadMarks) -> str:
    """`('target', 'name'), ...`: the marks as SQL rows of string literals."""
    target = _string_literal(marks.target)
    return ", ".join(f"({target}, {_string_literal(name)})" for name in marks.names)


def load_marks_names(marks: LoadMarks) -> str:
    """`'name', ...`: the marked names as SQL string literals (for `IN (...)`)."""
    return ", ".join(_string_literal(name) for name in marks.names)


def _string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class WarehouseTables(ABC):
    """Tables in a warehouse that trusted server code (datasets) creates, fills, swaps and drops.

    Every method is one transaction. Loads always go into a NEW table, so a failed or killed load
    leaves every existing table as it was; `point_view` makes a finished table visible in one step.
    Errors: `IncompatibleValueError` (a value does not fit its column: row and column named),
    `QueryFailedError` (anything else the engine refuses).
    """

    @abstractmethod
    def create_table(self, table: str, schema: pa.Schema) -> None:
        """Create an empty table with the columns of `schema`."""

    @abstractmethod
    def load_table(self, table: str, reader: pa.RecordBatchReader) -> int:
        """Create `table` from a stream of batches (read once, memory stays flat); its row count."""

    @abstractmethod
    def load_csv(self, table: str, path: Path, options: CsvOptions) -> int:
        """Create `table` from a CSV file with the engine's own reader; its row count."""

    @abstractmethod
    def load_parquet(self, table: str, path: Path, types: dict[str, pa.DataType] | None = None) -> int:
        """Create `table` from a Parquet file with the engine's own reader; its row count."""

    @abstractmethod
    def copy_table(self, source: str, table: str) -> int:
        """Create `table` as a copy of `source`; its row count."""

    @abstractmethod
    def insert_rows(self, table: str, reader: pa.RecordBatchReader, *, marks: LoadMarks | None = None) -> int:
        """Append rows (columns matched by name); how many. With `marks`, record them in the same
        transaction (`LOAD_MARKS_TABLE`); a mark already there fails the load (nothing inserted)."""

    @abstractmethod
    def marked(self, marks: LoadMarks) -> set[str]:
        """Which of `marks.names` are recorded for `marks.target` (by `insert_rows`)."""

    @abstractmethod
    def upsert_rows(self, table: str, reader: pa.RecordBatchReader, key: Sequence[str]) -> tuple[int, int]:
        """Insert rows, replacing those with the same key (the last duplicate wins): (inserted, updated)."""

    @abstractmethod
    def update_rows(self, table: str, reader: pa.RecordBatchReader, key: Sequence[str]) -> int:
        """Overwrite the rows whose key comes again with the new values (the last duplicate wins);
        incoming rows with a new key are ignored. How many rows were updated."""

    @abstractmethod
    def delete_keys(self, table: str, key: Sequence[str], keys: pa.Table, *, first_only: bool = False) -> int:
        """Delete rows whose `key` columns equal a row of `keys` (only the first match of each with
        `first_only`); how many."""

    @abstractmethod
    def delete_where(self, table: str, where: Statement, *, first_only: bool = False) -> int:
        """Delete rows matching a condition (SQL text with bound values); how many."""

    @abstractmethod
    def update_where(
        self,
        table: str,
        where: Statement,
        values: Mapping[str, Any],
        types: Mapping[str, pa.DataType],
        *,
        first_only: bool = False,
    ) -> int:
        """Set `values` (bound, cast to `types`) on the rows matching `where` (the first one only with
        `first_only`), rows staying where they are; how many."""

    @abstractmethod
    def add_columns(self, table: str, schema: pa.Schema, *, view: str | None = None) -> None:
        """Add the columns of `schema` to `table` (existing rows get NULL) and, when given, point
        `view` at the table again so it shows them; one transaction."""

    @abstractmethod
    def point_view(self, view: str, table: str) -> None:
        """Create or replace the view `view` as every column of `table`."""

    @abstractmethod
    def drop_view(self, view: str) -> None:
        """Drop a view if it exists."""

    @abstractmethod
    def drop_tables(self, tables: Sequence[str]) -> None:
        """Drop tables that exist; missing ones are ignored."""

    @abstractmethod
    def table_names(self, prefix: str) -> list[str]:
        """Names of the tables whose name starts with `prefix`."""

    @abstractmethod
    def read_table(
        self,
        table: str,
        *,
        where: Statement | None = None,
        limit: int | None = None,
        offset: int | None = None,
        batch_size: int = 65_536,
    ) -> pa.RecordBatchReader:
        """Stream a table's rows (those matching `where`, if given) in insertion order, skipping the
        first `offset` of them."""

    @abstractmethod
    def table_schema(self, table: str) -> pa.Schema:
        """The Arrow schema of a table."""

    @abstractmethod
    def row_count(self, table: str) -> int:
        """How many rows a table holds."""


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier (DuckDB, PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'
