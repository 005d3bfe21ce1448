"""The tables of the pipeline's output: list, create, alter, drop, dependencies and schemas.

On the warehouse a table is a dataset (schema "public", the only one); the column details the
warehouse has no use for (`distKey`, `sortKeyIndex`, a VARCHAR length, `nonNull`) are kept in the
dataset's options so they read back as given. On a PostgreSQL output the tables come from its
information_schema and changes are DDL on that database.

Dependencies are the saved queries whose SQL reads the table (parsed with `sql_tables.tables_in`)
on the output's data source, the dashboards showing their visualizations and, on PostgreSQL, the
views reading it: `"query:Daily sales (12)"`, `"dashboard:Ops (3)"`, `"view:public.v"`.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlglot.errors import SqlglotError

from openlytics.core.datasets.service import DatasetService
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.core.pipeline import column_types, require_read
from openlytics.core.pipeline.outputs import OutputService
from openlytics.core.pipeline.sinks import WAREHOUSE_SCHEMA, PostgresSink
from openlytics.core.principal import Action, Principal
from openlytics.core.queries import QueryService
from openlytics.sql_tables import dialect_for, tables_in
from openlytics.store.db import Database
from openlytics.store.models import Dashboard, Dataset, Query, Visualization, Widget

#: Dataset option holding the output column details, by column name.
DETAILS_OPTION = "output_columns"
NO_SORT_KEY = -1


@dataclass(frozen=True)
class OutputColumn:
    """A column of an output table."""

    name: str
    column_type: dict[str, Any]
    primary_key: bool = False
    dist_key: bool = False
    sort_key_index: int = NO_SORT_KEY


@dataclass(frozen=True)
class OutputTable:
    """A table of the output, with its columns ([] when listed shallow)."""

    schema: str
    name: str
    columns: list[OutputColumn] = field(default_factory=list)


@dataclass(frozen=True)
class _Wanted:
    """A column as asked for: its dataset type and the details shown back."""

    name: str
    dataset_type: str
    column_type: dict[str, Any]
    primary_key: bool
    dist_key: bool
    sort_key_index: int

    def details(self) -> dict[str, Any]:
        return {
            "columnType": self.column_type,
            "distKey": self.dist_key,
            "sortKeyIndex": self.sort_key_index,
        }


class OutputTables:
    """Tables and schemas of the organization's current output."""

    def __init__(self, outputs: OutputService, datasets: DatasetService, db: Database) -> None:
        self.outputs = outputs
        self.datasets = datasets
        self.db = db
        self.queries = QueryService(db, datasets.sources)

    # ----- reading -----------------------------------------------------------------------------
    def list(
        self, principal: Principal, *, schema: str | None = None, shallow: bool = False
    ) -> builtins.list[OutputTable]:
        """The tables of a schema (default: the output's), by name."""
        require_read(principal, "output tables")
        sink = self._postgres(principal)
        if sink is None:
            if schema is not None and schema.lower() != WAREHOUSE_SCHEMA:
                return []
            with self.db.session() as s:
                found = s.scalars(
                    select(Dataset).where(Dataset.org_id == principal.org_id).order_by(Dataset.name)
                )
                return [_warehouse_table(d, shallow) for d in found]
        name = schema or sink.default_schema
        tables = sink.tables(name)
        return [
            OutputTable(
                name,
                table,
                [] if shallow else _postgres_columns(columns, set(sink.primary_key(name, table))),
            )
            for table, columns in sorted(tables.items())
        ]

    def get(self, principal: Principal, table: str, *, schema: str | None = None) -> OutputTable:
        """One table with its columns; NotFoundError when missing."""
        require_read(principal, "output tables")
        sink = self._postgres(principal)
        if sink is None:
            return _warehouse_table(self._dataset(principal, schema, table), False)
        name = schema or sink.default_schema
        columns = sink.table_columns(name, table)
        if columns is None:
            raise NotFoundError("table", f"{name}.{table}")
        return OutputTable(name, table, _postgres_columns(columns, set(sink.primary_key(name, table))))

    def schemas(self, principal: Principal) -> builtins.list[tuple[str, bool]]:
        """(name, is_default) of each schema of the output."""
        require_read(principal, "output schemas")
        sink = self._postgres(principal)
        if sink is None:
            return [(WAREHOUSE_SCHEMA, True)]
        return [(name, name == sink.default_schema) for name in sink.schemas()]

    def dependencies(self, principal: Principal, schema: str | None, table: str) -> builtins.list[str]:
        """What reads the table: saved queries, the dashboards showing them, PostgreSQL views."""
        require_read(principal, "output tables")
        sink = self._postgres(principal)
        found = self.get(principal, table, schema=schema)
        queries = self._dependent_queries(principal, found.schema, table)
        names = [f"query:{q.name} ({q.id})" for q in queries]
        names += [
            f"dashboard:{d.name} ({d.id})" for d in self._dashboards(principal, [q.id for q in queries])
        ]
        if sink is not None:
            names += [f"view:{v}" for v in sink.dependent_views(found.schema, table)]
        return names

    # ----- changes -----------------------------------------------------------------------------
    def create(self, principal: Principal, table: str, columns: builtins.list[dict[str, Any]]) -> OutputTable:
        """Create a table in the default schema; `primaryKey` columns make the primary key."""
        principal.require(Action.MANAGE_SOURCES, "output tables")
        table = _table_name(table)
        wanted = _parse(columns)
        if not wanted:
            raise InvalidInputError("columns", "a table needs at least one column")
        key = [c.name for c in wanted if c.primary_key]
        sink = self._postgres(principal)
        if sink is None:
            self.datasets.create(
                principal,
                name=table,
                columns=[{"name": c.name, "type": c.dataset_type} for c in wanted],
                primary_key=key,
                options={DETAILS_OPTION: {c.name: c.details() for c in wanted}},
            )
        else:
            if sink.table_columns(None, table) is not None:
                raise ConflictError(f"a table named {table!r} exists", field="table")
            sink.create_table(None, table, [(c.name, c.dataset_type) for c in wanted], primary_key=key)
        return self.get(principal, table)

    def alter(self, principal: Principal, table: str, columns: builtins.list[dict[str, Any]]) -> OutputTable:
        """Add the columns that are new; an existing column given with another type is refused."""
        principal.require(Action.MANAGE_SOURCES, "output tables")
        wanted = _parse(columns)
        sink = self._postgres(principal)
        existing = (
            {c["name"]: c["type"] for c in self._dataset(principal, None, table).columns}
            if sink is None
            else sink.table_columns(None, table)
        )
        if existing is None:
            raise NotFoundError("table", table)
        for column in wanted:
            if column.name in existing and existing[column.name] != column.dataset_type:
                raise InvalidInputError(
                    f"columns.{column.name}",
                    f"column {column.name!r} is {column_types.column_type(existing[column.name])['type']}; "
                    "changing the type of an existing column is not supported",
                )
        new = [c for c in wanted if c.name not in existing]
        if new and sink is None:
            dataset = self._dataset(principal, None, table)
            self.datasets.add_columns(
                principal, dataset.id, [{"name": c.name, "type": c.dataset_type} for c in new]
            )
            options = dict(dataset.options or {})
            details = dict(options.get(DETAILS_OPTION) or {}) | {c.name: c.details() for c in new}
            self.datasets.update_settings(principal, dataset.id, options=options | {DETAILS_OPTION: details})
        elif new and sink is not None:
            sink.add_columns(None, table, [(c.name, c.dataset_type) for c in new])
        return self.get(principal, table)

    def drop(self, principal: Principal, schema: str | None, table: str, *, cascade: bool = False) -> None:
        """Drop a table; with dependents only with `cascade`, which archives the dependent queries."""
        principal.require(Action.MANAGE_SOURCES, "output tables")
        dependents = self.dependencies(principal, schema, table)
        if dependents and not cascade:
            raise ConflictError(
                f"table {table!r} is used by {', '.join(dependents)}; drop it with cascade",
                dependents=dependents,
            )
        found = self.get(principal, table, schema=schema)
        for query in self._dependent_queries(principal, found.schema, table):
            self.queries.archive(principal, query.id)
        sink = self._postgres(principal)
        if sink is None:
            self.datasets.delete(principal, self._dataset(principal, schema, table).id)
        else:
            sink.drop_table(found.schema, table, cascade=cascade)

    def create_schema(self, principal: Principal, name: str) -> None:
        """Create a schema on a PostgreSQL output; the warehouse has only "public"."""
        principal.require(Action.MANAGE_SOURCES, "output schemas")
        if not isinstance(name, str) or not name.strip() or len(name) > 63:
            raise InvalidInputError("schema", "a name of 1 to 63 characters")
        sink = self._postgres(principal)
        if sink is None:
            raise InvalidInputError("schema", f"the warehouse has one schema, {WAREHOUSE_SCHEMA!r}")
        sink.create_schema(name.strip())

    # ----- helpers -----------------------------------------------------------------------------
    def _postgres(self, principal: Principal) -> PostgresSink | None:
        """The PostgreSQL sink of the output, or None for the warehouse (others: an error)."""
        record = self.outputs.get(principal)
        if self.outputs.is_warehouse(record):
            return None
        sink = self.outputs.sink(principal.org_id)
        if not isinstance(sink, PostgresSink):
            sink.table_columns(None, "")  # raises SourceUnavailableError with the reason
            raise InvalidInputError("output", "tables of this output cannot be listed")
        return sink

    def _dataset(self, principal: Principal, schema: str | None, table: str) -> Dataset:
        if schema is not None and schema.lower() != WAREHOUSE_SCHEMA:
            raise NotFoundError("table", f"{schema}.{table}")
        dataset = self.datasets.find_by_name(principal, table)
        if dataset is None:
            raise NotFoundError("table", f"{WAREHOUSE_SCHEMA}.{table}")
        return dataset

    def _dependent_queries(self, principal: Principal, schema: str, table: str) -> builtins.list[Query]:
        source = self.outputs.data_source(principal)
        dialect = dialect_for(self.datasets.sources.sql_dialect(source) or source.kind)
        with self.db.session() as s:
            candidates = builtins.list(
                s.scalars(
                    select(Query)
                    .where(
                        Query.org_id == principal.org_id,
                        Query.data_source_id == source.id,
                        Query.is_archived.is_(False),
                    )
                    .order_by(Query.id)
                )
            )
        return [q for q in candidates if _reads(q.sql, dialect, schema, table)]

    def _dashboards(self, principal: Principal, query_ids: builtins.list[int]) -> builtins.list[Dashboard]:
        if not query_ids:
            return []
        with self.db.session() as s:
            return builtins.list(
                s.scalars(
                    select(Dashboard)
                    .where(
                        Dashboard.org_id == principal.org_id,
                        Dashboard.is_archived.is_(False),
                        Dashboard.id.in_(
                            select(Widget.dashboard_id)
                            .join(Visualization, Visualization.id == Widget.visualization_id)
                            .where(Visualization.query_id.in_(query_ids))
                        ),
                    )
                    .order_by(Dashboard.id)
                )
            )


def _reads(sql: str, dialect: str | None, schema: str, table: str) -> bool:
    """Whether `sql` reads `schema.table` (an unqualified name reads the default schema)."""
    try:
        names = tables_in(sql, dialect)
    except SqlglotError:
        return False
    for name in names:
        parts = name.lower().split(".")
        if parts[-1] != table.lower():
            continue
        if len(parts) == 1 or parts[-2] in (schema.lower(), "main" if schema == WAREHOUSE_SCHEMA else ""):
            return True
    return False


def _warehouse_table(dataset: Dataset, shallow: bool) -> OutputTable:
    if shallow:
        return OutputTable(WAREHOUSE_SCHEMA, dataset.name, [])
    details = (dataset.options or {}).get(DETAILS_OPTION) or {}
    key = set(dataset.primary_key or [])
    columns = []
    for column in dataset.columns or []:
        shown = details.get(column["name"]) or {}
        columns.append(
            OutputColumn(
                column["name"],
                shown.get("columnType") or column_types.column_type(column["type"]),
                primary_key=column["name"] in key,
                dist_key=bool(shown.get("distKey", False)),
                sort_key_index=int(shown.get("sortKeyIndex", NO_SORT_KEY)),
            )
        )
    return OutputTable(WAREHOUSE_SCHEMA, dataset.name, columns)


def _postgres_columns(columns: dict[str, str], key: set[str]) -> builtins.list[OutputColumn]:
    return [
        OutputColumn(name, column_types.column_type(kind, non_null=name in key), primary_key=name in key)
        for name, kind in columns.items()
    ]


def _table_name(table: Any) -> str:
    if not isinstance(table, str) or not table.strip() or len(table.strip()) > 127:
        raise InvalidInputError("table", "a name of 1 to 127 characters")
    return table.strip()


def _parse(columns: Any) -> builtins.list[_Wanted]:
    """Columns in the output's shape: `{"columnName", "columnType": {...}, "primaryKey", ...}`."""
    if not isinstance(columns, builtins.list):
        raise InvalidInputError("columns", "a list of column objects")
    wanted: builtins.list[_Wanted] = []
    seen: set[str] = set()
    for i, column in enumerate(columns):
        if not isinstance(column, dict):
            raise InvalidInputError(f"columns[{i}]", "a column object")
        name = column.get("columnName")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"columns[{i}].columnName", "required")
        name = name.strip()
        if name in seen:
            raise InvalidInputError(f"columns[{i}].columnName", f"duplicate column {name!r}")
        seen.add(name)
        given: Any = column.get("columnType")
        kind = column_types.dataset_type(given, f"columns[{i}].columnType")
        shown = dict(given) | {"type": str(given["type"]).strip().upper()}
        shown.setdefault("nonNull", False)
        if kind == "string" and shown["type"] == "VARCHAR":
            shown.setdefault("length", column_types.DEFAULT_VARCHAR_LENGTH)
        wanted.append(
            _Wanted(
                name,
                kind,
                shown,
                primary_key=bool(column.get("primaryKey", False)),
                dist_key=bool(column.get("distKey", False)),
                sort_key_index=_sort_key(column.get("sortKeyIndex"), i),
            )
        )
    return wanted


def _sort_key(value: Any, i: int) -> int:
    if value is None:
        return NO_SORT_KEY
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"columns[{i}].sortKeyIndex", "an integer (-1: not a sort key)") from None
