"""Values into Arrow columns of dataset types: inference, coercion, and errors naming row and column.

Fast paths hand whole columns to Arrow; only when Arrow refuses does a slow path walk the values to
coerce what it can (`"12"` into an integer column) and to name the first value that does not fit.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from openlytics.core.datasets.column_types import dataset_type, name_of
from openlytics.core.errors import IncompatibleValueError, InvalidInputError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


# ----- inference -----------------------------------------------------------------------------------
def infer_type(values: Sequence[Any]) -> pa.DataType:
    """The dataset type of Python values: bool, int64, float64, date, datetime, else string."""
    kinds = {_kind(v) for v in values if v is not None}
    if not kinds:
        return pa.string()
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds <= {"int", "float"}:
        return pa.float64()
    if kinds <= {"datetime", "iso_datetime"}:
        return pa.timestamp("us")
    if kinds <= {"date", "iso_date"}:
        return pa.date32()
    if kinds <= {"iso_date", "iso_datetime", "datetime"}:
        return pa.timestamp("us")
    return pa.string()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        if _ISO_DATE.fullmatch(value):
            return "iso_date" if _parses(dt.date.fromisoformat, value) else "str"
        if _ISO_DATETIME.fullmatch(value):
            return "iso_datetime" if _parses(dt.datetime.fromisoformat, value) else "str"
    return "other"


def _parses(parse: Callable[[str], Any], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def infer_text_column(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A text column whose every value is an ISO-8601 date (or datetime) as dates (or datetimes)."""
    if array.null_count == len(array):
        return array
    for target in (pa.date32(), pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            converted = array.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if target == pa.date32() and not all(_ISO_DATE.fullmatch(v) for v in array.drop_null().to_pylist()):
            continue
        return converted.cast(pa.timestamp("us")) if target == pa.timestamp("us", tz="UTC") else converted
    return array


def normalize_table(table: pa.Table, forced: Mapping[str, pa.DataType]) -> pa.Table:
    """A whole in-memory table in dataset types: forced columns cast, ISO text recognised."""
    _check_forced(table.schema, forced)
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.name not in forced and (
            pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        ):
            column = infer_text_column(column)
        columns.append(column)
    table = pa.table(columns, names=table.schema.names)
    schema = pa.schema([pa.field(f.name, forced.get(f.name) or dataset_type(f.type)) for f in table.schema])
    return _conform_table(table, schema)


def _conform_table(table: pa.Table, schema: pa.Schema) -> pa.Table:
    batches = [conform_batch(b, schema, offset) for b, offset in _with_offsets(table.to_batches())]
    return pa.Table.from_batches(batches, schema=schema)


def _check_forced(schema: pa.Schema, forced: Mapping[str, pa.DataType]) -> None:
    unknown = set(forced) - set(schema.names)
    if unknown:
        raise InvalidInputError("force_types", f"no column {sorted(unknown)[0]!r} in the data")


# ----- rows ----------------------------------------------------------------------------------------
def rows_to_table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema | None) -> pa.Table:
    """Rows as dicts into a table of `schema` (inferred from the rows when None)."""
    names: dict[str, None] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInputError(f"rows[{i}]", "an object of column values")
        names.update(dict.fromkeys(row))
    if schema is not None:
        unknown = [n for n in names if n not in schema.names]
        if unknown:
            raise InvalidInputError("rows", f"unknown column {unknown[0]!r}")
    values = {name: [row.get(name) for row in rows] for name in (schema.names if schema else names)}
    return _table_of(values, schema)


def arrays_to_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], schema: pa.Schema | None
) -> pa.Table:
    """Column names and row arrays into a table of `schema` (inferred when None)."""
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        raise InvalidInputError("columns", "column names must be distinct")
    for i, row in enumerate(rows):
        if not isinstance(row, Sequence) or isinstance(row, str) or len(row) != len(names):
            raise InvalidInputError(f"rows[{i}]", f"an array of {len(names)} values")
    if schema is not None:
        unknown = [n for n in names if n not in schema.names]
        if unknown:
            raise InvalidInputError("columns", f"unknown column {unknown[0]!r}")
    by_name = {name: [row[j] for row in rows] for j, name in enumerate(names)}
    if schema is not None:
        by_name = {name: by_name.get(name, [None] * len(rows)) for name in schema.names}
    return _table_of(by_name, schema)


def _table_of(values: dict[str, list[Any]], schema: pa.Schema | None) -> pa.Table:
    if schema is None:
        schema = pa.schema([pa.field(name, infer_type(column)) for name, column in values.items()])
    arrays = [column_array(values[f.name], f.type, f.name) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def column_array(values: list[Any], target: pa.DataType, column: str, row_offset: int = 0) -> pa.Array:
    """Python values as an Arrow array of `target`; IncompatibleValueError names the first misfit."""
    if pa.types.is_temporal(target) and isinstance(next((v for v in values if v is not None), None), str):
        # ISO-8601 text, parsed in bulk by Arrow (10x faster than value by value, and than letting
        # pa.array fail on text first); what Arrow will not parse (offsets into a naive column, odd
        # spellings) takes the value-by-value path below.
        try:
            return pa.array(values, type=pa.string()).cast(target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
            pass
    try:
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        pass
    coerce = _COERCERS.get(_coercer_key(target), _to_string)
    out: list[Any] = []
    for i, value in enumerate(values):
        try:
            out.append(None if value is None else coerce(value))
        except (ValueError, TypeError, OverflowError):
            raise IncompatibleValueError(
                row=row_offset + i, column=column, value=value, expected_type=name_of(target)
            ) from None
    try:
        return pa.array(out, type=target)
    except (pa.ArrowInvalid, OverflowError) as exc:  # e.g. out of int32 range
        index = _first_bad_value(out, target)
        raise IncompatibleValueError(
            row=row_offset + index, column=column, value=values[index], expected_type=name_of(target)
        ) from exc


def _first_bad_value(values: list[Any], target: pa.DataType) -> int:
    for i, value in enumerate(values):
        try:
            pa.array([value], type=target)
        except (pa.ArrowInvalid, OverflowError):
            return i
    return 0


def _coercer_key(target: pa.DataType) -> str:
    if pa.types.is_integer(target):
        return "int"
    if pa.types.is_floating(target):
        return "float"
    if pa.types.is_boolean(target):
        return "bool"
    if pa.types.is_timestamp(target):
        return "datetime"
    if pa.types.is_date(target):
        return "date"
    return "string"


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError(type(value).__name__)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        number = float(text)
        if math.isnan(number) and text.lower() != "nan":
            raise ValueError(text)
        return number
    raise TypeError(type(value).__name__)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(value)


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.strip())
    else:
        raise TypeError(type(value).__name__)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return dt.date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else _to_datetime(text).date()
    raise TypeError(type(value).__name__)


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "datetime": _to_datetime,
    "date": _to_date,
    "string": _to_string,
}


# ----- Arrow batches -------------------------------------------------------------------------------
def conform_batch(batch: pa.RecordBatch | pa.Table, schema: pa.Schema, row_offset: int) -> Any:
    """`batch` with the columns of `schema` (missing ones null), each cast to its type.

    A column named in `batch` but not in `schema` is an InvalidInputError; a value that does not
    convert is an IncompatibleValueError naming its row (`row_offset` + index) and column.
    """
    unknown = [n for n in batch.schema.names if n not in schema.names]
    if unknown:
        raise InvalidInputError("columns", f"unknown column {unknown[0]!r}")
    arrays = []
    for field in schema:
        if field.name not in batch.schema.names:
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(field.name)
        arrays.append(column if column.type == field.type else _cast(column, field, row_offset))
    if isinstance(batch, pa.Table):
        return pa.Table.from_arrays(arrays, schema=schema)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _cast(column: Any, field: pa.Field, row_offset: int) -> Any:
    target = field.type
    if pa.types.is_timestamp(column.type) and pa.types.is_timestamp(target):
        return column.cast(target, safe=False)  # sub-microsecond digits are dropped, time zones to UTC
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = column.to_pylist()
    return column_array(values, target, field.name, row_offset)


def _with_offsets(batches: Sequence[pa.RecordBatch]) -> Iterator[tuple[pa.RecordBatch, int]]:
    offset = 0
    for batch in batches:
        yield batch, offset
        offset += batch.num_rows


class ConformingReader:
    """A reader cast batch by batch to a schema; remembers the first conversion error it raised.

    The warehouse scans the reader inside its own engine, which reports our error as its own text:
    `error` lets the caller raise the original, with its row and column.
    """

    def __init__(self, reader: pa.RecordBatchReader, schema: pa.Schema) -> None:
        self.schema = schema
        self.error: Exception | None = None
        self.rows = 0
        self._source = reader

    def reader(self) -> pa.RecordBatchReader:
        """The conformed stream (single use; safe for an engine that pulls from several threads)."""
        return pa.RecordBatchReader.from_batches(self.schema, _Serialized(self._batches()))

    def _batches(self) -> Iterator[pa.RecordBatch]:
        for batch in self._source:
            try:
                conformed = conform_batch(batch, self.schema, self.rows)
            except (IncompatibleValueError, InvalidInputError) as exc:
                self.error = exc
                raise
            self.rows += batch.num_rows
            yield conformed


class _Serialized:
    """An iterator that several threads may pull from: one `next` at a time (a generator refuses)."""

    def __init__(self, iterator: Iterator[pa.RecordBatch]) -> None:
        self._iterator = iterator
        self._lock = threading.Lock()

    def __iter__(self) -> _Serialized:
        return self

    def __next__(self) -> pa.RecordBatch:
        with self._lock:
            return next(self._iterator)
