"""Datasets: typed tables in the organization's warehouse, with versions, atomic writes and push tokens.

A dataset `name` is a view over the table of its current version, so queries read it by name. Loads
(reloads, restores, a first write) always fill a NEW table and then swap the view and the metadata
in one step: a load that fails or is killed leaves the previous data and schema as they were, and
its half-filled table is swept before the dataset's next write. Appends, upserts and deletes change
the current table in one engine transaction. See docs/datasets.md.
"""

from __future__ import annotations

import builtins
import secrets as pysecrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, visible, without_hidden
from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.core.datasets import column_types as types
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.structured_query import Condition, compile_conditions
from openlytics.core.datasets.writes import TableWriter, WriteResult
from openlytics.core.errors import (
    ConflictError,
    IncompatibleValueError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.pagination import Page, paginate
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox, token_hash
from openlytics.core.sources import DataSourceService
from openlytics.engines.base import LoadMarks, Statement, WarehouseTables
from openlytics.store.db import Database
from openlytics.store.models import Dataset, DatasetVersion, DataSource, Query
from openlytics.store.types import utcnow

#: Versions kept per dataset (older tables are dropped).
KEEP_VERSIONS = 10
PUSH_TOKEN_PREFIX = "olp_"  # noqa: S105 - a prefix, not a secret
Filter = Condition
RowFilters = Callable[[Principal, Dataset], "builtins.list[Condition]"]


class _Unset:
    """The type of `UNSET`: a setting left as it is (where None means "clear it")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


class DatasetService:
    """Create, load, change, read, version and restore datasets."""

    def __init__(
        self,
        db: Database,
        sources: DataSourceService,
        box: SecretBox,
        *,
        keep_versions: int = KEEP_VERSIONS,
        activity: ActivityLog | None = None,
    ) -> None:
        self.db = db
        self.sources = sources
        self.box = box
        self.keep_versions = keep_versions
        self.activity = activity
        # Conditions a caller's reads are limited to (set by the team service: team parameters).
        self.row_filters: RowFilters | None = None
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    # ----- lookups -----------------------------------------------------------------------------
    def list(
        self, principal: Principal, *, search: str | None = None, page: int = 1, per_page: int = 25
    ) -> Page[Dataset]:
        """Datasets of the caller's organization by name; `search` matches name and description."""
        _require(principal, Action.READ, "datasets")
        with self.db.session() as s:
            stmt = (
                select(Dataset).where(Dataset.org_id == principal.org_id).order_by(Dataset.name, Dataset.id)
            )
            if search:
                pattern = f"%{search.strip()}%"
                stmt = stmt.where(or_(Dataset.name.ilike(pattern), Dataset.description.ilike(pattern)))
            stmt = without_hidden(stmt, self.sharing, principal, "dataset", Dataset.id)
            return paginate(s, stmt, page, per_page)

    def get(self, principal: Principal, ref: int | str) -> Dataset:
        """One dataset by id or UUID."""
        _require(principal, Action.READ, f"dataset {ref}")
        with self.db.session() as s:
            return self._get(s, principal, ref)

    def find_by_name(self, principal: Principal, name: str) -> Dataset | None:
        """The dataset with this name, if any."""
        _require(principal, Action.READ, "datasets")
        with self.db.session() as s:
            found = s.scalar(select(Dataset).where(Dataset.org_id == principal.org_id, Dataset.name == name))
        if found is None or not visible(self.sharing, principal, "dataset", [found.id]):
            return None
        return found

    def versions(self, principal: Principal, dataset_id: int) -> builtins.list[DatasetVersion]:
        """Kept versions, newest first."""
        _require(principal, Action.READ, f"dataset {dataset_id}")
        with self.db.session() as s:
            dataset = self._get(s, principal, dataset_id)
            return builtins.list(
                s.scalars(
                    select(DatasetVersion)
                    .where(DatasetVersion.dataset_id == dataset.id)
                    .order_by(DatasetVersion.version.desc())
                )
            )

    # ----- settings ----------------------------------------------------------------------------
    def create(
        self,
        principal: Principal,
        *,
        name: str,
        columns: builtins.list[dict[str, Any]] | None = None,
        primary_key: builtins.list[str] | None = None,
        description: str | None = None,
        options: dict[str, Any] | None = None,
        source_query_id: int | None = None,
    ) -> Dataset:
        """A new dataset; without columns it stays empty until its first load, insert or rebuild.

        `source_query_id` names the saved query a rebuild takes the rows from (None: a custom table,
        whose rows are only pushed)."""
        _require(principal, Action.WRITE, "datasets")
        name = _name(name)
        schema = types.schema_of(columns) if columns else None
        key = _key(primary_key or [], schema)
        source = self.sources.default(principal)
        with self.db.session() as s:
            self._unique(s, principal.org_id, name)
            if source_query_id is not None:
                _readable_query(s, principal, source_query_id, self.sharing)
            dataset = Dataset(
                org_id=principal.org_id,
                user_id=principal.user_id,
                data_source_id=source.id,
                name=name,
                description=description,
                primary_key=key,
                options=_options(options),
                columns=[],
                source_query_id=source_query_id,
            )
            s.add(dataset)
            s.flush()
        if schema is None:
            return dataset
        try:
            writer = self._writer(principal, dataset)
            table = writer.new_table_name()
            writer.tables.create_table(table, schema)
            return writer.commit_version(table, schema, 0, "create").dataset
        except BaseException:
            with self.db.session() as s:
                s.execute(delete(Dataset).where(Dataset.id == dataset.id))
            raise

    def update_settings(
        self,
        principal: Principal,
        dataset_id: int,
        *,
        name: str | None = None,
        description: str | None = None,
        options: dict[str, Any] | None = None,
        primary_key: builtins.list[str] | None = None,
        source_query_id: int | _Unset | None = UNSET,
    ) -> Dataset:
        """Rename, describe, set options, the primary key or the source query (None: none, the
        dataset becomes a custom table); the data is not touched."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self._locked(dataset_id), self.db.session() as s:
            dataset = self._get(s, principal, dataset_id, "MODIFY")
            old_name = dataset.name
            if not isinstance(source_query_id, _Unset):
                if source_query_id is not None:
                    _readable_query(s, principal, source_query_id, self.sharing)
                dataset.source_query_id = source_query_id
            if primary_key is not None:
                dataset.primary_key = _key(
                    primary_key, types.schema_of(dataset.columns) if dataset.columns else None
                )
            if description is not None:
                dataset.description = description
            if options is not None:
                dataset.options = _options(options)
            if name is not None and _name(name) != old_name:
                self._unique(s, principal.org_id, _name(name))
                dataset.name = _name(name)
                s.flush()
                if dataset.table_name:
                    tables = self._tables(principal)
                    tables.point_view(dataset.name, dataset.table_name)
                    tables.drop_view(old_name)
            return dataset

    def delete(self, principal: Principal, dataset_id: int) -> None:
        """Remove a dataset, its view and every table of every version."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self._locked(dataset_id):
            with self.db.session() as s:
                dataset = self._get(s, principal, dataset_id, "MODIFY")
                s.delete(dataset)
            tables = self._tables(principal)
            try:
                tables.drop_view(dataset.name)
            finally:  # the metadata is gone: its tables must not outlive it, whatever the view did
                tables.drop_tables(tables.table_names(TableWriter.prefix_of(dataset.id)))

    # ----- writes ------------------------------------------------------------------------------
    def append(
        self, principal: Principal, dataset_id: int, source: LoadSource, *, marks: LoadMarks | None = None
    ) -> WriteResult:
        """Add rows; the first rows of an empty dataset define its schema. `marks`: recorded in the
        warehouse with the rows, in their transaction (see `WarehouseTables.insert_rows`)."""
        _require(principal, Action.PUSH_ROWS, f"dataset {dataset_id}")
        with self._write(principal, dataset_id) as writer:
            return writer.append(source, marks)

    def marked(self, principal: Principal, marks: LoadMarks) -> set[str]:
        """Which of `marks.names` appends recorded for `marks.target` in the organization's warehouse."""
        _require(principal, Action.PUSH_ROWS, "load marks")
        return self._tables(principal).marked(marks)

    def upsert(
        self, principal: Principal, dataset_id: int, source: LoadSource, key: Sequence[str]
    ) -> WriteResult:
        """Insert rows, replacing the rows that have the same `key` values."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self._write(principal, dataset_id) as writer:
            return writer.upsert(source, _key(builtins.list(key), writer.schema, required=True))

    def update_existing(
        self, principal: Principal, dataset_id: int, source: LoadSource, key: Sequence[str]
    ) -> WriteResult:
        """Overwrite the rows whose `key` values come again; rows with a new key are ignored."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self._write(principal, dataset_id) as writer:
            return writer.update_existing(source, _key(builtins.list(key), writer.schema, required=True))

    def update_where(
        self,
        principal: Principal,
        dataset_id: int,
        *,
        filters: builtins.list[Condition],
        values: dict[str, Any],
        first_only: bool = False,
    ) -> WriteResult:
        """Set `values` (`{"column": value}`, converted to the column types and bound) on the rows
        matching every filter, only the first match with `first_only`; one engine transaction."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        if not isinstance(values, dict) or not values:
            raise InvalidInputError("values", 'an object {"column": value, ...} with at least one column')
        with self._write(principal, dataset_id) as writer:
            schema = writer.schema
            if schema is None or writer.dataset.table_name is None:
                unknown = next(iter(values))
                raise InvalidInputError(f"values.{unknown}", f"unknown column {unknown!r}")
            converted = _converted_values(values, schema)
            sql = compile_conditions(filters, columns=writer.column_types(), dialect=self._dialect(principal))
            return writer.update_where(Statement.plain(sql), converted, first_only)

    def add_columns(
        self, principal: Principal, dataset_id: int, columns: builtins.list[dict[str, Any]]
    ) -> Dataset:
        """Add columns (`[{"name", "type"}]`) to the current table in place, NULL in existing rows;
        the version stays the same. A dataset without a table yet gets one with these columns."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        if not isinstance(columns, builtins.list):
            raise InvalidInputError("columns", 'a list of {"name", "type"} objects')
        if not columns:
            return self.get(principal, dataset_id)
        added = types.schema_of(columns)
        with self._locked(dataset_id):
            with self.db.session() as s:
                dataset = self._get(s, principal, dataset_id, "MODIFY")
            clash = [c["name"] for c in dataset.columns if c["name"] in added.names]
            if clash:
                raise InvalidInputError("columns", f"column {clash[0]!r} exists")
            writer = self._writer(principal, dataset)
            if dataset.table_name is None:
                schema = types.schema_of([*dataset.columns, *types.columns_of(added)])
                table = writer.new_table_name()
                writer.tables.create_table(table, schema)
                return writer.commit_version(table, schema, 0, "add columns").dataset
            writer.tables.add_columns(dataset.table_name, added, view=dataset.name)
            with self.db.session() as s:
                current = self._get(s, principal, dataset_id)
                current.columns = [*current.columns, *types.columns_of(added)]
                version = s.scalar(
                    select(DatasetVersion).where(
                        DatasetVersion.dataset_id == current.id, DatasetVersion.version == current.version
                    )
                )
                if version is not None:
                    version.columns = builtins.list(current.columns)
                TableWriter._bump_caches(s, current)
                return current

    def record_rebuild(self, principal: Principal, dataset_id: int) -> Dataset:
        """Note that the dataset was just rebuilt from its source query (`last_rebuilt_at`)."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self.db.session() as s:
            dataset = self._get(s, principal, dataset_id, "MODIFY")
            dataset.last_rebuilt_at = utcnow()
            return dataset

    def update_from(
        self, principal: Principal, dataset_id: int, source: LoadSource, key: Sequence[str]
    ) -> WriteResult:
        """Upsert from a file (or any source) by `key`; the schema is unchanged."""
        return self.upsert(principal, dataset_id, source, key)

    def delete_rows(
        self,
        principal: Principal,
        dataset_id: int,
        *,
        key: builtins.list[str] | None = None,
        keys: builtins.list[Any] | None = None,
        filters: builtins.list[Filter] | None = None,
        first_only: bool = False,
    ) -> WriteResult:
        """Delete the rows whose `key` equals one of `keys` (a value, or a list per row), or that match
        every filter; only the first match (of each key) with `first_only`."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        if (keys is None) == (filters is None):
            raise InvalidInputError("keys", "give either keys or filters")
        with self._write(principal, dataset_id) as writer:
            if writer.schema is None or writer.dataset.table_name is None:
                return WriteResult(writer.dataset)
            if keys is not None:
                columns = _key(key or writer.dataset.primary_key, writer.schema, required=True)
                return writer.delete_keys(columns, _keys_table(columns, keys, writer.schema), first_only)
            dialect = self._dialect(principal)
            sql = compile_conditions(filters or [], columns=writer.column_types(), dialect=dialect)
            return writer.delete_where(Statement.plain(sql), first_only)

    def reload(
        self,
        principal: Principal,
        dataset_id: int,
        source: LoadSource,
        *,
        force_types: dict[str, Any] | None = None,
    ) -> WriteResult:
        """Replace the data and the schema (inferred, or `force_types`); a new version."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        forced = types.forced_types(force_types)
        with self._write(principal, dataset_id) as writer:
            return writer.reload(source, forced)

    def restore(self, principal: Principal, dataset_id: int, version: int) -> Dataset:
        """Make a kept version current again (as a new version)."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self._write(principal, dataset_id) as writer:
            kept = self._version(writer.dataset, version)
            return writer.restore(kept).dataset

    # ----- reads -------------------------------------------------------------------------------
    def read(
        self,
        principal: Principal,
        dataset_id: int,
        *,
        version: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> pa.RecordBatchReader:
        """Stream the rows of the current (or a kept) version in insertion order; `offset` rows are
        skipped first (pages: `offset=n * limit`)."""
        _require(principal, Action.READ, f"dataset {dataset_id}")
        dataset = self.get(principal, dataset_id)
        table, columns = dataset.table_name, dataset.columns
        if version is not None and version != dataset.version:
            kept = self._version(dataset, version)
            table, columns = kept.table_name, kept.columns
        if table is None:
            return pa.RecordBatchReader.from_batches(types.schema_of(columns or []), [])
        where = self._row_filter(principal, dataset, columns)
        if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int) or offset < 0):
            raise InvalidInputError("offset", "a non-negative integer")
        return self._tables(principal).read_table(table, where=where, limit=limit, offset=offset)

    def _row_filter(self, principal: Principal, dataset: Dataset, columns: Any) -> Statement | None:
        """The conditions limiting what `principal` may read of `dataset` (team parameters)."""
        conditions = self.row_filters(principal, dataset) if self.row_filters else []
        if not conditions:
            return None
        column_types = {c["name"]: c["type"] for c in columns or []}
        dialect = self._dialect(principal)
        kept: builtins.list[Condition] = []
        for condition in conditions:
            # Fail closed: a filtered column missing from this version, or no allowed value that
            # fits the column's type, means no rows rather than an error or every row.
            many = isinstance(condition.value, tuple | list)
            candidates = list(condition.value) if many else [condition.value]
            values = [v for v in candidates if _fits(condition.name, v, column_types, dialect)]
            if condition.name not in column_types or not values:
                return Statement.plain("FALSE")
            kept.append(Condition(condition.name, condition.op, tuple(values) if many else values[0]))
        return Statement.plain(compile_conditions(kept, columns=column_types, dialect=dialect))

    # ----- push tokens -------------------------------------------------------------------------
    def push_token(self, principal: Principal, dataset_id: int) -> str:
        """The dataset's push token (created on first use): it may only append rows to this dataset."""
        _require(principal, Action.WRITE, f"dataset {dataset_id}")
        with self.db.session() as s:
            dataset = self._get(s, principal, dataset_id, "MODIFY")
            if dataset.push_token_encrypted:
                return self.box.decrypt(dataset.push_token_encrypted)
            token = PUSH_TOKEN_PREFIX + pysecrets.token_urlsafe(32)
            dataset.push_token_hash = token_hash(token)
            dataset.push_token_encrypted = self.box.encrypt(token)
            return token

    def resolve_push_token(self, token: str) -> tuple[Principal, Dataset]:
        """The principal of a push token (append to its dataset only) and the dataset."""
        with self.db.session() as s:
            dataset = s.scalar(select(Dataset).where(Dataset.push_token_hash == token_hash(token or "")))
        if dataset is None:
            raise PermissionDeniedError("push rows", "an unknown push token")
        return Principal.dataset_pusher(dataset.org_id, dataset.id), dataset

    # ----- helpers -----------------------------------------------------------------------------
    @contextmanager
    def _write(self, principal: Principal, dataset_id: int) -> Iterator[TableWriter]:
        with self._locked(dataset_id):
            with self.db.session() as s:
                dataset = self._get(s, principal, dataset_id, _write_mode(principal))
            writer = self._writer(principal, dataset)
            writer.sweep()
            yield writer
        if self.activity is not None:  # only writes that succeeded count as loads
            self.activity.record(
                principal.org_id,
                principal.user_id,
                ActivityKind.DATASET_LOAD,
                object_type="dataset",
                object_id=dataset_id,
            )

    def _writer(self, principal: Principal, dataset: Dataset) -> TableWriter:
        return TableWriter(
            self.db, self._tables(principal), dataset, principal, keep_versions=self.keep_versions
        )

    def _tables(self, principal: Principal) -> WarehouseTables:
        source: DataSource = self.sources.default(principal)
        return self.sources.engine(source).warehouse_tables()

    def _dialect(self, principal: Principal) -> str:
        """The SQL dialect of the organization's warehouse, for conditions written into its SQL."""
        return self.sources.sql_dialect(self.sources.default(principal)) or "duckdb"

    @contextmanager
    def _locked(self, dataset_id: int) -> Iterator[None]:
        # One writer per dataset, in this process and (PostgreSQL metadata) in every process sharing
        # the store: versions are read, written and switched as one sequence.
        with self.db.exclusive(f"dataset:{int(dataset_id)}"):
            yield

    def _get(self, s: Session, principal: Principal, ref: int | str, mode: str = "READ_ONLY") -> Dataset:
        dataset: Dataset | None
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdecimal()):
            dataset = s.get(Dataset, int(ref))
        else:
            try:
                key = uuid.UUID(str(ref))
            except ValueError:
                raise NotFoundError("dataset", ref) from None
            dataset = s.scalar(select(Dataset).where(Dataset.uuid == key))
        if dataset is None or dataset.org_id != principal.org_id:
            raise NotFoundError("dataset", ref)
        if principal.dataset_scope is not None and principal.dataset_scope != dataset.id:
            raise NotFoundError("dataset", ref)
        require_access(self.sharing, principal, "dataset", dataset.id, mode)
        return dataset

    def _version(self, dataset: Dataset, version: int) -> DatasetVersion:
        with self.db.session() as s:
            kept = s.scalar(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == dataset.id, DatasetVersion.version == version
                )
            )
        if kept is None:
            raise NotFoundError("dataset version", f"{dataset.id}/{version}")
        return kept

    def _unique(self, s: Session, org_id: int, name: str) -> None:
        clash = s.scalar(select(Dataset.id).where(Dataset.org_id == org_id, Dataset.name == name))
        if clash is not None:
            raise ConflictError(f"a dataset named {name!r} exists", field="name")


def _readable_query(s: Session, principal: Principal, query_id: int, sharing: ObjectAccess | None) -> Query:
    """The saved query `query_id` of the caller's organization, if the caller may read it."""
    if isinstance(query_id, bool) or not isinstance(query_id, int):
        raise InvalidInputError("source_query_id", "a query id")
    principal.require(Action.READ, f"query {query_id}")
    principal.require_query(query_id)
    query = s.get(Query, query_id)
    if query is None or query.org_id != principal.org_id:
        raise NotFoundError("query", query_id)
    require_access(sharing, principal, "query", query.id)
    return query


def _write_mode(principal: Principal) -> str:
    # Appending needs only PUSH_ROWS, which viewers may hold (USERDATAUPLOADING), and sharing
    # never gives a non-writer MODIFY: such a caller appends to the datasets it sees.
    return "MODIFY" if principal.can(Action.WRITE) else "READ_ONLY"


def _converted_values(values: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """`values` as Python values of the column types; InvalidInputError names the column that fails."""
    from openlytics.core.datasets.conversion import column_array

    converted: dict[str, Any] = {}
    for name, value in values.items():
        if name not in schema.names:
            raise InvalidInputError(f"values.{name}", f"unknown column {name!r}")
        arrow_type = schema.field(name).type
        try:
            converted[name] = column_array([value], arrow_type, name).to_pylist()[0]
        except IncompatibleValueError:
            raise InvalidInputError(
                f"values.{name}", f"column {name!r}: {value!r} is not a valid {types.name_of(arrow_type)}"
            ) from None
    return converted


def _require(principal: Principal, action: Action, resource: str) -> None:
    # Query keys reach one query and nothing else; datasets are not theirs to read.
    if principal.is_query_key:
        raise PermissionDeniedError(action.value, resource)
    principal.require(action, resource)


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("name", "must not be empty")
    name = name.strip()
    if len(name) > 255:
        raise InvalidInputError("name", "at most 255 characters")
    if name.startswith(TableWriter.TABLE_PREFIX):
        raise InvalidInputError("name", f"must not start with {TableWriter.TABLE_PREFIX!r}")
    return name


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidInputError("options", "an object")
    return dict(options)


def _key(key: builtins.list[str], schema: pa.Schema | None, *, required: bool = False) -> builtins.list[str]:
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, builtins.list) or not all(isinstance(k, str) and k for k in key):
        raise InvalidInputError("primary_key", "a list of column names")
    if required and not key:
        raise InvalidInputError("primary_key", "name the key columns (the dataset has no primary key)")
    if schema is not None:
        unknown = [k for k in key if k not in schema.names]
        if unknown:
            raise InvalidInputError("primary_key", f"no column {unknown[0]!r}")
    return builtins.list(dict.fromkeys(key))


def _keys_table(columns: builtins.list[str], keys: builtins.list[Any], schema: pa.Schema) -> pa.Table:
    from openlytics.core.datasets.conversion import arrays_to_table

    rows = [k if isinstance(k, builtins.list | tuple) else [k] for k in keys]
    key_schema = pa.schema([schema.field(c) for c in columns])
    return arrays_to_table(columns, rows, key_schema)


def _fits(column: str, value: Any, column_types: dict[str, str], dialect: str) -> bool:
    """Whether `value` converts to the type of `column` (a team parameter value, say)."""
    if column not in column_types:
        return False
    try:
        compile_conditions([Condition(column, "==", value)], columns=column_types, dialect=dialect)
    except InvalidInputError:
        return False
    return True
