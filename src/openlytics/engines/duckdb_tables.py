"""Dataset tables in the DuckDB warehouse: loads into new tables, swaps, inserts, upserts, deletes.

Split from `duckdb_engine.py`; the engine hands these out through `DuckDBEngine.warehouse_tables()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from openlytics.core.errors import IncompatibleValueError, QueryFailedError
from openlytics.engines.base import (
    LOAD_MARKS_TABLE,
    BindValue,
    CsvOptions,
    LoadMarks,
    Statement,
    WarehouseTables,
    load_marks_names,
    load_marks_values,
    quote_identifier,
)
from openlytics.engines.duckdb_engine import DuckDBEngine, to_duckdb_sql
from openlytics.engines.file_loader import DUCKDB_TYPES, FileLoader, clean_message


def _write_type(arrow_type: pa.DataType) -> str:
    # The DuckDB type of a stored dataset column (timestamps are stored naive, in UTC).
    return "TIMESTAMP" if pa.types.is_timestamp(arrow_type) else DUCKDB_TYPES.get(arrow_type, "VARCHAR")


class DuckDBWarehouseTables(WarehouseTables):
    """Dataset tables in the (sandboxed) warehouse file.

    User SQL runs on the sandboxed connection, which can touch no file. Files are therefore read by a
    separate in-memory DuckDB connection per load (`file_loader.FileLoader`: allowed to read that one
    file, nothing else, its configuration locked); it never sees the warehouse. Its parser streams
    Arrow batches that the warehouse connection scans into a new table, so big files load at the
    engine's own speed with flat memory, and the warehouse sandbox is never loosened.
    """

    def __init__(self, engine: DuckDBEngine) -> None:
        self.engine = engine

    # ----- loads: always into a new table ---------------------------------------------------------
    def create_table(self, table: str, schema: pa.Schema) -> None:
        """Create an empty table with the columns of `schema`."""
        self.load_table(table, pa.RecordBatchReader.from_batches(schema, []))

    def load_table(self, table: str, reader: pa.RecordBatchReader) -> int:
        """Create `table` from a stream of batches (scanned by DuckDB, never collected)."""
        with self._transaction() as cursor:
            cursor.register("incoming", reader)
            columns = _naive_projection(reader.schema)
            cursor.execute(f"CREATE TABLE {quote_identifier(table)} AS SELECT {columns} FROM incoming")
        return self.row_count(table)

    def load_csv(self, table: str, path: Path, options: CsvOptions) -> int:
        """Create `table` from a CSV file; a column whose type was only inferred is read as text when
        a later row does not fit it; a value that fits no explicit type fails the load."""
        return self._loader().load_csv(
            path, options, lambda reader: self.load_table(table, reader), lambda: self.drop_tables([table])
        )

    def load_parquet(self, table: str, path: Path, types: dict[str, pa.DataType] | None = None) -> int:
        """Create `table` from a Parquet file, casting the columns named in `types`."""
        return self._loader().load_parquet(path, types, lambda reader: self.load_table(table, reader))

    def copy_table(self, source: str, table: str) -> int:
        """Create `table` as a copy of `source`."""
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE {quote_identifier(table)} AS SELECT * FROM {quote_identifier(source)}"
            )
        return self.row_count(table)

    # ----- changes to an existing table -----------------------------------------------------------
    def insert_rows(self, table: str, reader: pa.RecordBatchReader, *, marks: LoadMarks | None = None) -> int:
        """Append rows, columns matched by name (and record `marks` in the same transaction)."""
        with self._transaction() as cursor:
            if marks is not None and marks.names:
                marked = quote_identifier(LOAD_MARKS_TABLE)
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {marked} (target VARCHAR, name VARCHAR, "
                    "loaded_at TIMESTAMP DEFAULT current_timestamp, PRIMARY KEY (target, name))"
                )
                cursor.execute(f"DELETE FROM {marked} WHERE loaded_at < current_timestamp - INTERVAL 1 DAY")
                cursor.execute(f"INSERT INTO {marked} (target, name) VALUES {load_marks_values(marks)}")
            cursor.register("incoming", reader)
            return _count(
                cursor.execute(f"INSERT INTO {quote_identifier(table)} BY NAME SELECT * FROM incoming")
            )

    def marked(self, marks: LoadMarks) -> set[str]:
        """Which of the names are recorded for the target."""
        if not marks.names:
            return set()
        with self._transaction() as cursor:
            exists = cursor.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = current_schema() AND table_name = ?",
                [LOAD_MARKS_TABLE],
            ).fetchone()
            if not exists or not exists[0]:
                return set()
            rows = cursor.execute(
                f"SELECT name FROM {quote_identifier(LOAD_MARKS_TABLE)} WHERE target = ? "
                f"AND name IN ({load_marks_names(marks)})",
                [marks.target],
            ).fetchall()
        return {str(row[0]) for row in rows}

    def upsert_rows(self, table: str, reader: pa.RecordBatchReader, key: Sequence[str]) -> tuple[int, int]:
        """Delete the rows whose key comes again, then insert the new rows (last duplicate wins)."""
        target = quote_identifier(table)
        keys = ", ".join(quote_identifier(k) for k in key)
        match = " AND ".join(
            f"s.{quote_identifier(k)} IS NOT DISTINCT FROM t.{quote_identifier(k)}" for k in key
        )
        with self._transaction() as cursor:
            cursor.register("incoming", reader)
            cursor.execute(
                "CREATE TEMP TABLE staged AS SELECT * EXCLUDE (_ol_n) FROM ("
                "SELECT *, row_number() OVER () AS _ol_n FROM incoming) "
                f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _ol_n DESC) = 1 ORDER BY _ol_n"
            )
            deleted = _count(
                cursor.execute(f"DELETE FROM {target} t WHERE EXISTS (SELECT 1 FROM staged s WHERE {match})")
            )
            inserted = _count(cursor.execute(f"INSERT INTO {target} BY NAME SELECT * FROM staged"))
            cursor.execute("DROP TABLE staged")
        return inserted - min(deleted, inserted), min(deleted, inserted)

    def update_rows(self, table: str, reader: pa.RecordBatchReader, key: Sequence[str]) -> int:
        """Overwrite the rows whose key comes again (last duplicate wins), in place; new keys are
        ignored."""
        target = quote_identifier(table)
        keys = ", ".join(quote_identifier(k) for k in key)
        match = " AND ".join(
            f"s.{quote_identifier(k)} IS NOT DISTINCT FROM t.{quote_identifier(k)}" for k in key
        )
        changed = [name for name in reader.schema.names if name not in key]
        with self._transaction() as cursor:
            cursor.register("incoming", reader)
            cursor.execute(
                "CREATE TEMP TABLE staged AS SELECT * EXCLUDE (_ol_n) FROM ("
                "SELECT *, row_number() OVER () AS _ol_n FROM incoming) "
                f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _ol_n DESC) = 1"
            )
            if changed:
                assignments = ", ".join(f"{quote_identifier(c)} = s.{quote_identifier(c)}" for c in changed)
                sql = f"UPDATE {target} t SET {assignments} FROM staged s WHERE {match}"
            else:  # only key columns: nothing to change, count the matches
                sql = f"SELECT count(*) FROM {target} t WHERE EXISTS (SELECT 1 FROM staged s WHERE {match})"
            updated = _count(cursor.execute(sql))
            cursor.execute("DROP TABLE staged")
        return updated

    def delete_keys(self, table: str, key: Sequence[str], keys: pa.Table, *, first_only: bool = False) -> int:
        """Delete rows whose key equals one of `keys` (the first match of each with `first_only`)."""
        target = quote_identifier(table)
        match = " AND ".join(
            f"k.{quote_identifier(c)} IS NOT DISTINCT FROM t.{quote_identifier(c)}" for c in key
        )
        with self._transaction() as cursor:
            cursor.register("incoming_keys", keys)
            if first_only:
                sql = (
                    f"DELETE FROM {target} WHERE rowid IN (SELECT min(t.rowid) FROM {target} t "
                    f"JOIN (SELECT DISTINCT * FROM incoming_keys) k ON {match} "
                    f"GROUP BY {', '.join('k.' + quote_identifier(c) for c in key)})"
                )
            else:
                sql = f"DELETE FROM {target} t WHERE EXISTS (SELECT 1 FROM incoming_keys k WHERE {match})"
            return _count(cursor.execute(sql))

    def delete_where(self, table: str, where: Statement, *, first_only: bool = False) -> int:
        """Delete rows matching `where` (the first one only with `first_only`)."""
        condition, params = to_duckdb_sql(where)
        target = quote_identifier(table)
        if first_only:
            sql = f"DELETE FROM {target} WHERE rowid = (SELECT min(rowid) FROM {target} WHERE {condition})"
        else:
            sql = f"DELETE FROM {target} WHERE {condition}"
        with self._transaction() as cursor:
            return _count(cursor.execute(sql, params or None))

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
        `first_only`); DuckDB updates rows in place, so the order of the table is kept."""
        target = quote_identifier(table)
        fragments: list[str | BindValue] = [f"UPDATE {target} SET "]
        for i, (name, value) in enumerate(values.items()):
            fragments += [", " if i else "", f"{quote_identifier(name)} = CAST(", BindValue(value)]
            fragments.append(f" AS {_write_type(types[name])})")
        if first_only:
            fragments += [f" WHERE rowid = (SELECT min(rowid) FROM {target} WHERE ", *where.fragments, ")"]
        else:
            fragments += [" WHERE ", *where.fragments]
        sql, params = to_duckdb_sql(Statement(tuple(fragments)))
        with self._transaction() as cursor:
            return _count(cursor.execute(sql, params or None))

    def add_columns(self, table: str, schema: pa.Schema, *, view: str | None = None) -> None:
        """ALTER TABLE ... ADD COLUMN for each field (NULL in existing rows), and the view re-pointed,
        in one transaction: a failure leaves the table and the view as they were."""
        target = quote_identifier(table)
        with self._transaction() as cursor:
            for f in schema:
                cursor.execute(
                    f"ALTER TABLE {target} ADD COLUMN {quote_identifier(f.name)} {_write_type(f.type)}"
                )
            if view is not None:
                cursor.execute(f"CREATE OR REPLACE VIEW {quote_identifier(view)} AS SELECT * FROM {target}")

    # ----- names ----------------------------------------------------------------------------------
    def point_view(self, view: str, table: str) -> None:
        """Create or replace the view `view` over `table`."""
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE OR REPLACE VIEW {quote_identifier(view)} AS SELECT * FROM {quote_identifier(table)}"
            )

    def drop_view(self, view: str) -> None:
        """Drop a view if it exists."""
        with self._transaction() as cursor:
            cursor.execute(f"DROP VIEW IF EXISTS {quote_identifier(view)}")

    def drop_tables(self, tables: Sequence[str]) -> None:
        """Drop the tables that exist."""
        if not tables:
            return
        with self._transaction() as cursor:
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(table)}")

    def table_names(self, prefix: str) -> list[str]:
        """Base tables of the main schema whose name starts with `prefix`."""
        with self._transaction() as cursor:
            rows = cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND starts_with(table_name, $prefix) ORDER BY table_name",
                {"prefix": prefix},
            ).fetchall()
        return [row[0] for row in rows]

    # ----- reading ---------------------------------------------------------------------------------
    def read_table(
        self,
        table: str,
        *,
        where: Statement | None = None,
        limit: int | None = None,
        offset: int | None = None,
        batch_size: int = 65_536,
    ) -> pa.RecordBatchReader:
        """Stream the table in insertion order (DuckDB's `preserve_insertion_order`, on by default,
        keeps it through WHERE, LIMIT and OFFSET); the cursor closes when the stream ends or closes."""
        fragments: tuple[str | BindValue, ...] = (f"SELECT * FROM {quote_identifier(table)}",)
        if where is not None:
            fragments += (" WHERE ", *where.fragments)
        if limit is not None:
            fragments += (" LIMIT ", BindValue(max(int(limit), 0)))
        if offset:
            fragments += (" OFFSET ", BindValue(max(int(offset), 0)))
        execution = self.engine.execute(Statement(fragments), batch_size=batch_size)
        schema = execution.schema

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from execution.batches()
            finally:
                execution.close()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def table_schema(self, table: str) -> pa.Schema:
        """The Arrow schema of a table."""
        with self._transaction() as cursor:
            schema: pa.Schema = (
                cursor.sql(f"SELECT * FROM {quote_identifier(table)} LIMIT 0").to_arrow_table().schema
            )
        return schema

    def row_count(self, table: str) -> int:
        """`count(*)` of a table."""
        with self._transaction() as cursor:
            row = cursor.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchone()
        return int(row[0]) if row else 0

    # ----- helpers ---------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = self.engine._cursor()
        try:
            cursor.begin()
            try:
                yield cursor
                cursor.commit()
            except BaseException:
                cursor.rollback()
                raise
        except IncompatibleValueError:
            raise
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            raise QueryFailedError(clean_message(exc)) from exc
        finally:
            cursor.close()

    def _loader(self) -> FileLoader:
        # Files are parsed by their own locked-down DuckDB, never by the sandboxed warehouse.
        return FileLoader(memory_limit=self.engine.memory_limit, threads=self.engine.threads)


def _naive_projection(schema: pa.Schema) -> str:
    """Every column, time-zone-aware timestamps as naive UTC (the casts are plain: no ICU is loaded)."""
    return (
        ", ".join(
            f"CAST({quote_identifier(f.name)} AS TIMESTAMP) AS {quote_identifier(f.name)}"
            if pa.types.is_timestamp(f.type) and f.type.tz is not None
            else quote_identifier(f.name)
            for f in schema
        )
        or "*"
    )


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0
