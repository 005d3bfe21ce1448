"""Writing one dataset: loads into new tables, versions, in-place changes, and the metadata that follows.

Used by `DatasetService` while it holds the dataset's lock. Every method leaves either the old state
or the new one: a load goes into a fresh table (dropped if anything fails) and becomes current when the
view and the metadata switch together; changes to the current table are one engine transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select, update

from openlytics.core.datasets import column_types as types
from openlytics.core.datasets.conversion import ConformingReader
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import (
    ConflictError,
    IncompatibleValueError,
    InvalidInputError,
    OpenlyticsError,
    QueryFailedError,
)
from openlytics.core.principal import Principal
from openlytics.engines.base import CsvOptions, LoadMarks, Statement, WarehouseTables
from openlytics.store.db import Database
from openlytics.store.models import Dataset, DatasetVersion, DataSource


@dataclass(frozen=True)
class WriteResult:
    """What a write did, and the dataset after it."""

    dataset: Dataset
    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def row_count(self) -> int:
        """Rows in the dataset after the write."""
        return self.dataset.row_count


class TableWriter:
    """The write operations of one dataset, over its warehouse's tables."""

    TABLE_PREFIX = "_ds_"

    def __init__(
        self,
        db: Database,
        tables: WarehouseTables,
        dataset: Dataset,
        principal: Principal,
        *,
        keep_versions: int,
    ) -> None:
        self.db = db
        self.tables = tables
        self.dataset = dataset
        self.principal = principal
        self.keep_versions = keep_versions

    @classmethod
    def prefix_of(cls, dataset_id: int) -> str:
        """The name prefix of every table of a dataset."""
        return f"{cls.TABLE_PREFIX}{dataset_id}_v"

    @property
    def schema(self) -> pa.Schema | None:
        """The current schema; None for a dataset that has none yet."""
        return types.schema_of(self.dataset.columns) if self.dataset.columns else None

    def column_types(self) -> dict[str, str]:
        """Column name -> our type name."""
        return {c["name"]: c["type"] for c in self.dataset.columns}

    def new_table_name(self) -> str:
        """A fresh table name for the next version."""
        return f"{self.prefix_of(self.dataset.id)}{self.dataset.version + 1}_{secrets.token_hex(4)}"

    def sweep(self) -> None:
        """Drop tables of this dataset that no version points at (left by failed or killed loads)."""
        with self.db.session() as s:
            kept = set(
                s.scalars(
                    select(DatasetVersion.table_name).where(DatasetVersion.dataset_id == self.dataset.id)
                )
            )
        if self.dataset.table_name:
            kept.add(self.dataset.table_name)
        orphans = [t for t in self.tables.table_names(self.prefix_of(self.dataset.id)) if t not in kept]
        self.tables.drop_tables(orphans)

    # ----- loads into a new table ------------------------------------------------------------------
    def reload(self, source: LoadSource, forced: Mapping[str, pa.DataType]) -> WriteResult:
        """Replace data and schema with `source`."""
        table = self.new_table_name()
        with self._new_table(table):
            rows = self._load(table, source, None, forced)
            schema = types.dataset_schema(self.tables.table_schema(table))
            return self.commit_version(table, schema, rows, "reload", inserted=rows)

    def restore(self, kept: DatasetVersion) -> WriteResult:
        """Copy a kept version into a new current version."""
        table = self.new_table_name()
        with self._new_table(table):
            rows = self.tables.copy_table(kept.table_name, table)
            return self.commit_version(table, types.schema_of(kept.columns), rows, f"restore {kept.version}")

    def commit_version(
        self, table: str, schema: pa.Schema, rows: int, operation: str, *, inserted: int = 0
    ) -> WriteResult:
        """Make `table` current: the view and the metadata switch together; old versions are pruned."""
        columns = types.columns_of(schema)
        old_table = self.dataset.table_name
        viewed = False
        try:
            with self.db.session() as s:
                dataset = s.get(Dataset, self.dataset.id)
                if dataset is None:
                    raise ConflictError("the dataset was deleted meanwhile")
                dataset.version += 1
                s.add(
                    DatasetVersion(
                        org_id=dataset.org_id,
                        dataset_id=dataset.id,
                        version=dataset.version,
                        table_name=table,
                        columns=columns,
                        row_count=rows,
                        operation=operation,
                        created_by_id=self.principal.user_id,
                    )
                )
                dataset.table_name, dataset.columns, dataset.row_count = table, columns, rows
                dataset.primary_key = [k for k in dataset.primary_key if k in schema.names]
                self._bump_caches(s, dataset)
                pruned = self._prune(s, dataset)
                s.flush()
                self.tables.point_view(dataset.name, table)
                viewed = True
        except BaseException:
            if viewed and old_table:
                self.tables.point_view(self.dataset.name, old_table)
            raise
        self.dataset = dataset
        self.tables.drop_tables([t for t in pruned if t != table])
        return WriteResult(dataset, inserted=inserted)

    # ----- changes to the current table ------------------------------------------------------------
    def append(self, source: LoadSource, marks: LoadMarks | None = None) -> WriteResult:
        """Insert rows; an empty dataset gets its schema from them (a new version). `marks` are
        recorded with rows inserted into an existing table (`WarehouseTables.insert_rows`); a
        dataset without a table gets none (the pipeline creates its tables before loading)."""
        if self.schema is None or self.dataset.table_name is None:
            table = self.new_table_name()
            with self._new_table(table):
                rows = self._load(table, source, self.schema, {})
                schema = self.schema or types.dataset_schema(self.tables.table_schema(table))
                return self.commit_version(table, schema, rows, "append", inserted=rows)
        table_name = self.dataset.table_name
        conforming = self._conforming(source, self.schema)
        inserted = self._guarded(
            conforming, lambda: self.tables.insert_rows(table_name, conforming.reader(), marks=marks)
        )
        return WriteResult(self._after_change(), inserted=inserted)

    def upsert(self, source: LoadSource, key: list[str]) -> WriteResult:
        """Insert or replace rows by `key`."""
        if self.schema is None or self.dataset.table_name is None:
            return self.append(source)
        table_name = self.dataset.table_name
        inserted, updated = self._keyed(
            source, lambda reader: self.tables.upsert_rows(table_name, reader, key)
        )
        return WriteResult(self._after_change(), inserted=inserted, updated=updated)

    def update_existing(self, source: LoadSource, key: list[str]) -> WriteResult:
        """Overwrite the rows whose `key` comes again; rows with a key not in the dataset are ignored."""
        if self.schema is None or self.dataset.table_name is None:
            return WriteResult(self.dataset)
        table_name = self.dataset.table_name
        updated = self._keyed(source, lambda reader: self.tables.update_rows(table_name, reader, key))
        return WriteResult(self._after_change(), updated=updated)

    def update_where(self, where: Statement, values: Mapping[str, Any], first_only: bool) -> WriteResult:
        """Set column values (already converted to the column types) on the rows matching a condition."""
        assert self.dataset.table_name is not None and self.schema is not None
        schema = self.schema
        column_types = {name: schema.field(name).type for name in values}
        updated = self.tables.update_where(
            self.dataset.table_name, where, values, column_types, first_only=first_only
        )
        return WriteResult(self._after_change(), updated=updated)

    def delete_keys(self, key: list[str], keys: pa.Table, first_only: bool) -> WriteResult:
        """Delete rows by key values."""
        assert self.dataset.table_name is not None
        deleted = self.tables.delete_keys(self.dataset.table_name, key, keys, first_only=first_only)
        return WriteResult(self._after_change(), deleted=deleted)

    def delete_where(self, where: Statement, first_only: bool) -> WriteResult:
        """Delete rows matching a condition."""
        assert self.dataset.table_name is not None
        deleted = self.tables.delete_where(self.dataset.table_name, where, first_only=first_only)
        return WriteResult(self._after_change(), deleted=deleted)

    # ----- helpers ---------------------------------------------------------------------------------
    def _keyed(self, source: LoadSource, run: Any) -> Any:
        """`run(reader)` over `source` typed like the dataset; files are staged in a table first."""
        assert self.schema is not None
        schema = self.schema
        if source.is_file:
            staged = self.new_table_name() + "_staged"
            with self._new_table(staged, keep=False):
                self._load(staged, source, schema, {})
                return run(_with_schema(self.tables.read_table(staged), schema))
        conforming = self._conforming(source, schema)
        return self._guarded(conforming, lambda: run(conforming.reader()))

    def _load(
        self, table: str, source: LoadSource, schema: pa.Schema | None, forced: Mapping[str, pa.DataType]
    ) -> int:
        """Fill the new `table` from `source`: typed by `schema` if given, else inferred with `forced`."""
        wanted = {f.name: f.type for f in schema} if schema is not None else dict(forced)
        if source.kind == "csv":
            assert source.path is not None
            compression = "auto" if source.gzip is None else ("gzip" if source.gzip else "none")
            options = CsvOptions(source.separator, compression, wanted, types.dataset_type)
            rows = self._named(lambda: self.tables.load_csv(table, source.path, options), wanted)
        elif source.kind == "parquet":
            assert source.path is not None
            file_schema = _parquet_schema(source)
            casts = {f.name: wanted.get(f.name) or types.dataset_type(f.type) for f in file_schema}
            casts = {name: t for name, t in casts.items() if t != file_schema.field(name).type}
            rows = self._named(lambda: self.tables.load_parquet(table, source.path, casts), wanted)
        else:
            data = source.to_reader(schema, forced)
            reader = data if isinstance(data, pa.RecordBatchReader) else data.to_reader()
            target = schema or pa.schema(
                [pa.field(f.name, forced.get(f.name) or types.dataset_type(f.type)) for f in reader.schema]
            )
            conforming = ConformingReader(reader, target)
            rows = self._guarded(conforming, lambda: self.tables.load_table(table, conforming.reader()))
        if schema is not None:
            self._check_columns(table, schema)
        return rows

    def _check_columns(self, table: str, schema: pa.Schema) -> None:
        loaded = self.tables.table_schema(table)
        missing = [n for n in schema.names if n not in loaded.names]
        extra = [n for n in loaded.names if n not in schema.names]
        if extra:
            raise InvalidInputError("columns", f"unknown column {extra[0]!r}")
        if missing:
            raise InvalidInputError("columns", f"missing column {missing[0]!r}")

    def _conforming(self, source: LoadSource, schema: pa.Schema) -> ConformingReader:
        if source.is_file:
            raise InvalidInputError("source", "files are loaded with reload or update_from")
        data = source.to_reader(schema, {})
        reader = data if isinstance(data, pa.RecordBatchReader) else data.to_reader()
        return ConformingReader(reader, schema)

    @staticmethod
    def _guarded(conforming: ConformingReader, run: Any) -> Any:
        try:
            return run()
        except OpenlyticsError:
            if conforming.error is not None:
                raise conforming.error from None
            raise

    def _named(self, run: Any, wanted: Mapping[str, pa.DataType]) -> int:
        # The engine names Arrow types; the error names ours.
        try:
            rows: int = run()
        except IncompatibleValueError as exc:
            expected = wanted.get(exc.column)
            raise IncompatibleValueError(
                row=exc.row,
                column=exc.column,
                value=exc.value,
                expected_type=types.name_of(expected) if expected is not None else exc.expected_type,
            ) from None
        return rows

    @contextmanager
    def _new_table(self, table: str, *, keep: bool = True) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.tables.drop_tables([table])
            raise
        if not keep:
            self.tables.drop_tables([table])

    def _after_change(self) -> Dataset:
        assert self.dataset.table_name is not None
        rows = self.tables.row_count(self.dataset.table_name)
        with self.db.session() as s:
            dataset = s.get(Dataset, self.dataset.id)
            if dataset is None:
                raise ConflictError("the dataset was deleted meanwhile")
            dataset.row_count = rows
            s.execute(
                update(DatasetVersion)
                .where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.version == dataset.version)
                .values(row_count=rows)
            )
            self._bump_caches(s, dataset)
        self.dataset = dataset
        return dataset

    @staticmethod
    def _bump_caches(s: Any, dataset: Dataset) -> None:
        # Results cached over the warehouse may have read this dataset: they are all stale now.
        dataset.cache_generation += 1
        s.execute(
            update(DataSource)
            .where(DataSource.id == dataset.data_source_id)
            .values(cache_generation=DataSource.cache_generation + 1)
        )

    def _prune(self, s: Any, dataset: Dataset) -> list[str]:
        old = list(
            s.scalars(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == dataset.id,
                    DatasetVersion.version <= dataset.version - self.keep_versions,
                )
            )
        )
        for version in old:
            s.delete(version)
        return [v.table_name for v in old if v.table_name != dataset.table_name]


def _parquet_schema(source: LoadSource) -> pa.Schema:
    assert source.path is not None
    try:
        return pq.read_schema(source.path)
    except (pa.ArrowException, OSError) as exc:
        raise QueryFailedError(f"not a Parquet file: {exc}") from exc


def _with_schema(reader: pa.RecordBatchReader, schema: pa.Schema) -> pa.RecordBatchReader:
    if reader.schema.equals(schema):
        return reader
    return ConformingReader(reader, schema).reader()
