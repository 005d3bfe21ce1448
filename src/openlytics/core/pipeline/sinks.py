"""Sinks: where the pipeline loads mapped rows — the organization's warehouse or an external PostgreSQL.

A sink knows tables by (schema, name) and their columns by our dataset types (`string`, `int64`,
...; see `column_types`). `load` writes all rows of a batch or none (one transaction) and raises an
`OpenlyticsError` when the output refuses them; the pipeline then sends the events to the restream
queue as LOAD_ERROR.

- `WarehouseSink`: a table is a dataset of that name, in the one schema "public"; loads are
  `DatasetService.append` as the system principal of the organization.
- `PostgresSink`: an external PostgreSQL (Redshift speaks its protocol) through SQLAlchemy + psycopg:
  `CREATE TABLE` / `ALTER TABLE ... ADD COLUMN` with quoted identifiers, multi-row INSERTs in one
  transaction (no COPY FROM STDIN, which Redshift lacks).
- `UnreachableSink`: an output this server cannot reach (a cloud warehouse without a driver here):
  every call raises `SourceUnavailableError` with the reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.service import DatasetService
from openlytics.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    QueryFailedError,
    SourceUnavailableError,
)
from openlytics.core.principal import Principal
from openlytics.engines.base import LoadMarks, quote_identifier

WAREHOUSE_SCHEMA = "public"

# Our dataset types -> the column types created on PostgreSQL / Redshift.
POSTGRES_TYPES: dict[str, str] = {
    "string": "VARCHAR(65535)",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "float32": "REAL",
    "float64": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "date": "DATE",
}
# information_schema data_type -> our dataset type (anything else reads as string).
FROM_POSTGRES: dict[str, str] = {
    "bigint": "int64",
    "integer": "int32",
    "smallint": "int32",
    "real": "float32",
    "double precision": "float64",
    "numeric": "float64",
    "boolean": "bool",
    "timestamp without time zone": "datetime",
    "timestamp with time zone": "datetime",
    "date": "date",
}
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


class Sink(ABC):
    """Tables of one output: their columns, creating and widening them, and atomic loads."""

    @abstractmethod
    def table_columns(self, schema: str | None, table: str) -> dict[str, str] | None:
        """Column -> our dataset type, in table order; None when there is no such table."""

    @abstractmethod
    def create_table(
        self,
        schema: str | None,
        table: str,
        columns: list[tuple[str, str]],
        *,
        primary_key: Sequence[str] = (),
    ) -> None:
        """Create a table with `(name, dataset type)` columns (and a primary key)."""

    @abstractmethod
    def add_columns(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None:
        """Add columns to a table; existing rows get NULL."""

    @abstractmethod
    def load(self, schema: str | None, table: str, data: pa.Table) -> int:
        """Insert every row of `data` (columns by name) or none; how many were inserted."""

    def primary_key(self, schema: str | None, table: str) -> list[str]:
        """The primary key columns of a table ([] when none)."""
        return []


class WarehouseSink(Sink):
    """The organization's warehouse: a table is the dataset of that name."""

    def __init__(self, datasets: DatasetService, org_id: int) -> None:
        self.datasets = datasets
        self.principal = Principal.system(org_id)

    def table_columns(self, schema: str | None, table: str) -> dict[str, str] | None:
        """The dataset's columns, or None when no dataset has this name."""
        _warehouse_schema(schema)
        dataset = self.datasets.find_by_name(self.principal, table)
        if dataset is None:
            return None
        return {c["name"]: c["type"] for c in dataset.columns}

    def create_table(
        self,
        schema: str | None,
        table: str,
        columns: list[tuple[str, str]],
        *,
        primary_key: Sequence[str] = (),
    ) -> None:
        """A new dataset with these columns."""
        _warehouse_schema(schema)
        self.datasets.create(
            self.principal,
            name=table,
            columns=[{"name": n, "type": t} for n, t in columns],
            primary_key=list(primary_key),
        )

    def add_columns(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None:
        """`DatasetService.add_columns` on the dataset."""
        dataset = self._dataset(schema, table)
        self.datasets.add_columns(self.principal, dataset.id, [{"name": n, "type": t} for n, t in columns])

    def load(self, schema: str | None, table: str, data: pa.Table) -> int:
        """Append the rows to the dataset (one engine transaction)."""
        dataset = self._dataset(schema, table)
        return self.datasets.append(self.principal, dataset.id, LoadSource.from_arrow(data)).inserted

    def loaded_marks(self, schema: str | None, table: str, names: Sequence[str]) -> set[str]:
        """Which of `names` a `load_marked` into this table recorded."""
        dataset = self._dataset(schema, table)
        return self.datasets.marked(self.principal, LoadMarks(_marks_target(dataset), tuple(names)))

    def load_marked(self, schema: str | None, table: str, data: pa.Table, names: Sequence[str]) -> int:
        """`load`, recording `names` in the warehouse in the same transaction as the rows: a name
        already recorded fails the load (nothing inserted)."""
        dataset = self._dataset(schema, table)
        marks = LoadMarks(_marks_target(dataset), tuple(names))
        return self.datasets.append(
            self.principal, dataset.id, LoadSource.from_arrow(data), marks=marks
        ).inserted

    def primary_key(self, schema: str | None, table: str) -> list[str]:
        """The dataset's primary key."""
        return list(self._dataset(schema, table).primary_key or [])

    def _dataset(self, schema: str | None, table: str) -> Any:
        _warehouse_schema(schema)
        dataset = self.datasets.find_by_name(self.principal, table)
        if dataset is None:
            raise NotFoundError("table", f"{WAREHOUSE_SCHEMA}.{table}")
        return dataset


class PostgresSink(Sink):
    """An external PostgreSQL database (or Redshift) reached by a SQLAlchemy URL."""

    def __init__(
        self, url: str | sa.URL, *, default_schema: str = "public", connect_timeout: int = 10
    ) -> None:
        self.default_schema = default_schema or "public"
        self.engine: Engine = sa.create_engine(
            url, pool_pre_ping=True, pool_size=2, connect_args={"connect_timeout": connect_timeout}
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.engine.dispose()

    def test(self) -> None:
        """Connect and run `SELECT 1`; SourceUnavailableError with the driver's message."""
        with self._connection() as conn:
            conn.execute(sa.text("SELECT 1"))

    # ----- catalog -----------------------------------------------------------------------------
    def table_columns(self, schema: str | None, table: str) -> dict[str, str] | None:
        """The table's columns from information_schema, or None when it does not exist."""
        rows = self._rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position",
            schema=self._schema(schema),
            table=table,
        )
        if not rows:
            return None
        return {name: FROM_POSTGRES.get(kind, "string") for name, kind in rows}

    def tables(self, schema: str | None) -> dict[str, dict[str, str]]:
        """Every base table of a schema -> its columns (our types), by name."""
        rows = self._rows(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
            "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = :schema ORDER BY c.table_name, c.ordinal_position",
            schema=self._schema(schema),
        )
        found: dict[str, dict[str, str]] = {}
        for table, column, kind in rows:
            found.setdefault(table, {})[column] = FROM_POSTGRES.get(kind, "string")
        return found

    def primary_key(self, schema: str | None, table: str) -> list[str]:
        """The table's primary key columns, in key order."""
        rows = self._rows(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
            "AND k.constraint_schema = c.constraint_schema AND k.table_name = c.table_name "
            "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = :schema "
            "AND c.table_name = :table ORDER BY k.ordinal_position",
            schema=self._schema(schema),
            table=table,
        )
        return [row[0] for row in rows]

    def schemas(self) -> list[str]:
        """The database's schemas, system schemas left out."""
        rows = self._rows("SELECT schema_name FROM information_schema.schemata ORDER BY schema_name")
        return [r[0] for r in rows if r[0] not in SYSTEM_SCHEMAS and not r[0].startswith("pg_")]

    def dependent_views(self, schema: str | None, table: str) -> list[str]:
        """Views reading the table, as `schema.view`."""
        rows = self._rows(
            "SELECT DISTINCT view_schema, view_name FROM information_schema.view_table_usage "
            "WHERE table_schema = :schema AND table_name = :table ORDER BY view_schema, view_name",
            schema=self._schema(schema),
            table=table,
        )
        return [f"{s}.{v}" for s, v in rows]

    # ----- changes -----------------------------------------------------------------------------
    def create_schema(self, name: str) -> None:
        """CREATE SCHEMA; ConflictError when it exists."""
        if name in self.schemas():
            raise ConflictError(f"schema {name!r} exists", field="schema")
        with self._transaction() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {quote_identifier(name)}")

    def create_table(
        self,
        schema: str | None,
        table: str,
        columns: list[tuple[str, str]],
        *,
        primary_key: Sequence[str] = (),
    ) -> None:
        """CREATE TABLE with quoted identifiers and our types mapped onto PostgreSQL's."""
        if not columns:
            raise InvalidInputError("columns", "a table needs at least one column")
        parts = [f"{quote_identifier(n)} {_postgres_type(t)}" for n, t in columns]
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(quote_identifier(k) for k in primary_key)})")
        with self._transaction() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {self._qualified(schema, table)} ({', '.join(parts)})")

    def add_columns(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None:
        """ALTER TABLE ... ADD COLUMN for each, in one transaction."""
        target = self._qualified(schema, table)
        with self._transaction() as conn:
            for name, kind in columns:
                conn.exec_driver_sql(
                    f"ALTER TABLE {target} ADD COLUMN {quote_identifier(name)} {_postgres_type(kind)}"
                )

    def drop_table(self, schema: str | None, table: str, *, cascade: bool = False) -> None:
        """DROP TABLE (CASCADE drops dependent views too)."""
        suffix = " CASCADE" if cascade else ""
        with self._transaction() as conn:
            conn.exec_driver_sql(f"DROP TABLE {self._qualified(schema, table)}{suffix}")

    def load(self, schema: str | None, table: str, data: pa.Table) -> int:
        """INSERT every row in one transaction (batched multi-row VALUES); all or nothing."""
        if data.num_rows == 0:
            return 0
        target = sa.table(
            table, *[sa.column(name) for name in data.column_names], schema=self._schema(schema)
        )
        rows = data.to_pylist()
        with self._transaction() as conn:
            conn.execute(target.insert(), rows)
        return len(rows)

    # ----- helpers -----------------------------------------------------------------------------
    def _schema(self, schema: str | None) -> str:
        return schema or self.default_schema

    def _qualified(self, schema: str | None, table: str) -> str:
        return f"{quote_identifier(self._schema(schema))}.{quote_identifier(table)}"

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        with self._connection() as conn:
            return list(conn.execute(sa.text(sql), params).all())

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise _mapped(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise _mapped(exc) from exc


class UnreachableSink(Sink):
    """An output this server cannot reach: every operation fails with `reason`."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def table_columns(self, schema: str | None, table: str) -> dict[str, str] | None:
        """Always raises SourceUnavailableError."""
        raise SourceUnavailableError(self.name, self.reason)

    def create_table(
        self,
        schema: str | None,
        table: str,
        columns: list[tuple[str, str]],
        *,
        primary_key: Sequence[str] = (),
    ) -> None:
        """Always raises SourceUnavailableError."""
        raise SourceUnavailableError(self.name, self.reason)

    def add_columns(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None:
        """Always raises SourceUnavailableError."""
        raise SourceUnavailableError(self.name, self.reason)

    def load(self, schema: str | None, table: str, data: pa.Table) -> int:
        """Always raises SourceUnavailableError."""
        raise SourceUnavailableError(self.name, self.reason)


def driver_message(exc: BaseException) -> str:
    """The database driver's own message of a SQLAlchemy error (first lines, no SQLAlchemy noise)."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().split("\n[SQL:")[0].strip()


def _mapped(exc: SQLAlchemyError) -> Exception:
    message = driver_message(exc)
    sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", "") or "")
    if isinstance(exc, IntegrityError) or sqlstate.startswith("22"):
        # Integrity and data exceptions: a row or value the table refuses.
        return InvalidInputError("rows", message)
    if isinstance(exc, OperationalError) and (not sqlstate or sqlstate[:2] in ("08", "28", "3D", "57")):
        return SourceUnavailableError("output", message)
    return QueryFailedError(message)


def _postgres_type(kind: str) -> str:
    if kind not in POSTGRES_TYPES:
        raise InvalidInputError("columns", f"unknown type {kind!r}")
    return POSTGRES_TYPES[kind]


def _marks_target(dataset: Any) -> str:
    return f"dataset:{dataset.id}"


def _warehouse_schema(schema: str | None) -> None:
    if schema is not None and schema.lower() != WAREHOUSE_SCHEMA:
        raise InvalidInputError("schema", f"the warehouse has one schema, {WAREHOUSE_SCHEMA!r}")
