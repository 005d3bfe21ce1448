"""CSV and Parquet files parsed for a warehouse load, by a locked-down in-memory DuckDB.

Every warehouse (DuckDB or PostgreSQL) loads files the same way: a fresh in-memory DuckDB connection,
allowed to read exactly one file and nothing else, parses it and streams Arrow batches; the warehouse
ingests them into a new table. The loader never sees the warehouse, and the warehouse's own sandbox is
never loosened. Values that do not fit their column are explained as `IncompatibleValueError` naming
the row (0-based data row) and the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from openlytics.core.errors import IncompatibleValueError, QueryFailedError
from openlytics.engines.base import CsvOptions, quote_identifier

#: Arrow types of dataset columns -> the DuckDB type that holds them (timestamps apart: `read_type`).
DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
}
#: rows per Arrow batch the loader streams
LOAD_BATCH = 1 << 17

_REJECTED_VALUE = re.compile(r'Could not convert string "(.*)" to', re.DOTALL)

# Set after `allowed_paths`, in this order: from then on the loader can change nothing.
_LOADER_LOCKS = (
    ("enable_external_access", "false"),
    ("autoinstall_known_extensions", "false"),
    ("autoload_known_extensions", "false"),
    ("lock_configuration", "true"),
)

#: fills a new table from the batches of a file; returns its row count
Load = Callable[[pa.RecordBatchReader], int]


def read_type(arrow_type: pa.DataType, found: pa.DataType | None = None) -> str:
    """The DuckDB type a file's column is parsed as to become `arrow_type`."""
    # Text with zone offsets must be parsed WITH time zone to land on the right instant; a column the
    # sniffer found to be plain timestamps is parsed as such (much faster).
    if pa.types.is_timestamp(arrow_type):
        plain = found is not None and pa.types.is_timestamp(found) and found.tz is None
        return "TIMESTAMP" if plain else "TIMESTAMPTZ"
    return DUCKDB_TYPES.get(arrow_type, "VARCHAR")


def clean_message(exc: BaseException) -> str:
    """An engine's error message without surrounding blanks."""
    return str(exc).strip()


class FileLoader:
    """Parses one file per load with its own locked-down DuckDB and hands the batches to `load`.

    Timestamps come out time-zone-aware (UTC) when their text had offsets: the warehouse stores them
    naive, in UTC.
    """

    def __init__(self, *, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.memory_limit = memory_limit
        self.threads = threads

    def load_csv(self, path: Path, options: CsvOptions, load: Load, discard: Callable[[], None]) -> int:
        """`load` the rows of a CSV file; its row count. A column whose type was only inferred is read
        as text when a later row does not fit it (`discard` undoes the load, which runs again); a value
        that fits no explicit type fails the load (after `discard`) with IncompatibleValueError."""
        as_text: set[str] = set()
        while True:
            with self._connect(path) as loader:
                source = _csv_source(loader, path, options, as_text)
                rows = load(loader.sql(f"SELECT * FROM {source}").to_arrow_reader(LOAD_BATCH))
                rejected = _first_rejected(loader)
                if rejected is not None:  # the read types, only needed to explain the failure
                    sniffed = loader.cursor().sql(f"SELECT * FROM {source} LIMIT 0").to_arrow_table().schema
                    schema = pa.schema(
                        [pa.field(f.name, pa.string() if f.name in as_text else f.type) for f in sniffed]
                    )
            if rejected is None:
                return rows
            discard()
            line, column, value = rejected
            if column in options.types or column in as_text or column not in schema.names:
                expected = str(options.types.get(column) or schema.field(column).type)
                raise IncompatibleValueError(row=line - 2, column=column, value=value, expected_type=expected)
            as_text.add(column)

    def load_parquet(self, path: Path, types: dict[str, pa.DataType] | None, load: Load) -> int:
        """`load` the rows of a Parquet file, the columns named in `types` cast; its row count. A value
        that does not cast fails the load with IncompatibleValueError."""
        types = types or {}
        with self._connect(path) as loader:
            source = f"read_parquet({_sql_string(str(path))})"
            schema = loader.sql(f"SELECT * FROM {source} LIMIT 0").to_arrow_table().schema
            unknown = set(types) - set(schema.names)
            if unknown:
                raise QueryFailedError(f"no column {sorted(unknown)[0]!r} in the file")
            projection = ", ".join(
                _cast(f.name, types[f.name]) if f.name in types else quote_identifier(f.name) for f in schema
            )
            try:
                return load(loader.sql(f"SELECT {projection} FROM {source}").to_arrow_reader(LOAD_BATCH))
            except (QueryFailedError, duckdb.Error, pa.ArrowException):
                _explain_cast_failure(loader, source, types)
                raise

    @contextmanager
    def _connect(self, path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
        # The loader may read exactly this one file and nothing else; see the module docstring.
        config: dict[str, Any] = {"preserve_insertion_order": True}
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        if self.threads:
            config["threads"] = self.threads
        try:
            loader = duckdb.connect(":memory:", config=config)
            loader.execute("SET allowed_paths = $paths", {"paths": [str(path.resolve())]})
            for name, value in _LOADER_LOCKS:
                loader.execute(f"SET {name} = {value}")
        except duckdb.Error as exc:
            raise QueryFailedError(clean_message(exc)) from exc
        try:
            yield loader
        except (duckdb.Error, pa.ArrowException) as exc:
            raise QueryFailedError(clean_message(exc)) from exc
        finally:
            loader.close()


def _csv_source(loader: duckdb.DuckDBPyConnection, path: Path, options: CsvOptions, as_text: set[str]) -> str:
    base = (
        f"{_sql_string(str(path.resolve()))}, delim={_sql_string(options.delimiter)}, header=true, "
        f"compression={_sql_string(options.compression)}, encoding='utf-8'"
    )
    sniffed = loader.sql(f"SELECT * FROM read_csv({base}) LIMIT 0").to_arrow_table().schema
    unknown = set(options.types) - set(sniffed.names)
    if unknown:
        raise QueryFailedError(f"no column {sorted(unknown)[0]!r} in the file")
    normalize = options.normalize or (lambda t: t)
    types = {
        f.name: "VARCHAR"
        if f.name in as_text
        else read_type(options.types.get(f.name) or normalize(f.type), f.type)
        for f in sniffed
    }
    mapping = ", ".join(f"{_sql_string(name)}: {_sql_string(kind)}" for name, kind in types.items())
    return f"read_csv({base}, types={{{mapping}}}, store_rejects=true)"


def _first_rejected(loader: duckdb.DuckDBPyConnection) -> tuple[int, str, str | None] | None:
    row = loader.execute(
        "SELECT line, column_name, error_message FROM reject_errors ORDER BY line LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    match = _REJECTED_VALUE.search(row[2] or "")
    return int(row[0]), str(row[1]), match.group(1) if match else None


def _explain_cast_failure(
    loader: duckdb.DuckDBPyConnection, source: str, types: dict[str, pa.DataType]
) -> None:
    # Only on failure: find the first row whose forced column does not convert.
    for name, arrow_type in types.items():
        column = quote_identifier(name)
        row = loader.execute(
            f"SELECT n, CAST({column} AS VARCHAR) FROM (SELECT row_number() OVER () - 1 AS n, {column}, "
            f"TRY_CAST({column} AS {read_type(arrow_type)}) AS converted FROM {source}) "
            f"WHERE converted IS NULL AND {column} IS NOT NULL ORDER BY n LIMIT 1"
        ).fetchone()
        if row is not None:
            raise IncompatibleValueError(
                row=int(row[0]), column=name, value=row[1], expected_type=str(arrow_type)
            )


def _cast(name: str, arrow_type: pa.DataType) -> str:
    return f"CAST({quote_identifier(name)} AS {read_type(arrow_type)}) AS {quote_identifier(name)}"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
