"""Results as JSON, CSV, Parquet or Arrow bytes, produced batch by batch so memory stays flat.

JSON value conventions, shared by `stream_result(..., "json")` and `rows_as_json_objects`: dates, times
and timestamps as ISO-8601 text, decimals as exact JSON numbers, NaN and infinities as null, binary as
base64, durations as seconds, lists, structs and maps as JSON arrays and objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from openlytics.core.errors import InvalidInputError
from openlytics.engines.base import ColumnInfo
from openlytics.results.store import result_columns

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}

JsonFragments = list[str]


def stream_result(
    reader: pa.RecordBatchReader, fmt: str, *, columns: list[ColumnInfo] | None = None
) -> Iterator[bytes]:
    """Encode a result in `fmt` ("json", "csv", "parquet" or "arrow"), one chunk per batch."""
    writers: dict[str, Callable[[pa.RecordBatchReader], Iterator[bytes]]] = {
        "csv": _csv_chunks,
        "parquet": _parquet_chunks,
        "arrow": _arrow_chunks,
    }
    if fmt == "json":
        return _json_chunks(reader, columns if columns is not None else result_columns(reader.schema))
    if fmt not in writers:
        raise InvalidInputError("format", f"must be one of {', '.join(MEDIA_TYPES)}")
    return writers[fmt](reader)


def rows_as_json_objects(data: pa.Table | pa.RecordBatchReader, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` rows as JSON-ready dicts, for small inline results.

    Decimals come back as int, or as float when the float prints exactly the decimal's digits,
    otherwise as text so no digit is lost.
    """
    batches = data.to_batches() if isinstance(data, pa.Table) else data
    rows: list[dict[str, Any]] = []
    for batch in batches:
        if len(rows) >= limit:
            break
        for row in batch.slice(0, limit - len(rows)).to_pylist():
            rows.append({key: json_value(value) for key, value in row.items()})
    return rows


def json_value(value: Any) -> Any:
    """A Python value from Arrow as a JSON-ready value (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return _decimal_value(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, pa.MonthDayNano):  # a named tuple: before the tuple case below
        return {"months": value.months, "days": value.days, "nanoseconds": value.nanoseconds}
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if (
        isinstance(value, list)
        and all(isinstance(item, tuple) and len(item) == 2 for item in value)
        and value
    ):
        return {str(k): json_value(v) for k, v in value}  # an Arrow map comes back as (key, value) pairs
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return str(value)


def _decimal_value(value: decimal.Decimal) -> int | float | str | None:
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if decimal.Decimal(repr(as_float)) == value else str(value)


# --- JSON ----------------------------------------------------------------------------------------------


def _json_chunks(reader: pa.RecordBatchReader, columns: list[ColumnInfo]) -> Iterator[bytes]:
    header = {"columns": [{"name": c.name, "type": c.type} for c in columns]}
    yield (json.dumps(header, ensure_ascii=False)[:-1] + ', "rows": [').encode()
    keys = [json.dumps(name, ensure_ascii=False) + ":" for name in reader.schema.names]
    first = True
    for batch in reader:
        if batch.num_rows == 0:
            continue
        fragments = [_json_fragments(column) for column in batch.columns]
        rows = (
            "{" + ",".join(key + value for key, value in zip(keys, values, strict=True)) + "}"
            for values in zip(*fragments, strict=True)
        )
        body = ",".join(rows)
        yield (body if first else "," + body).encode()
        first = False
    yield b"]}"


def _json_fragments(column: pa.Array) -> JsonFragments:
    """Each value of a column as JSON text; vectorised with Arrow compute for the common types."""
    arrow_type = column.type
    if pa.types.is_dictionary(arrow_type):
        return _json_fragments(column.dictionary_decode())
    if pa.types.is_integer(arrow_type) or pa.types.is_decimal(arrow_type):
        return _as_text_or_null(column)
    if pa.types.is_floating(arrow_type):
        finite = pc.is_finite(column)
        return _as_text_or_null(pc.if_else(finite, column, pa.scalar(None, arrow_type)))
    if pa.types.is_boolean(arrow_type):
        return ["null" if v is None else ("true" if v else "false") for v in column.to_pylist()]
    if pa.types.is_null(arrow_type):
        return ["null"] * len(column)
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type) or pa.types.is_time(arrow_type):
        return _iso_text(column)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ["null" if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()]
    return [json.dumps(json_value(v), ensure_ascii=False) for v in column.to_pylist()]


def _iso_text(column: pa.Array) -> JsonFragments:
    # Arrow prints temporal values as ISO-8601 with a space for the `T`, and offsets as `+0100`; in UTC
    # it prints `Z`, which every JSON consumer's date parser reads.
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
    text = pc.replace_substring(pc.cast(column, pa.string()), " ", "T", max_replacements=1)
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    return list(pc.fill_null(quoted, "null").to_pylist())


def _as_text_or_null(column: pa.Array) -> JsonFragments:
    # Arrow's number-to-text casts print exact decimals and shortest round-trip floats (valid JSON numbers).
    text = pc.cast(column, pa.string())
    filled: pa.Array = pc.fill_null(text, "null")
    return list(filled.to_pylist())


# --- CSV -----------------------------------------------------------------------------------------------


def _csv_chunks(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    schema = pa.schema([pa.field(f.name, _csv_type(f.type)) for f in reader.schema])
    sink = _DrainableSink()
    with pacsv.CSVWriter(sink, schema) as writer:
        for batch in reader:
            writer.write_batch(_conform(batch, schema))
            yield sink.drain()
        if not sink.has_data and sink.written == 0:
            writer.write_batch(pa.RecordBatch.from_pylist([], schema=schema))  # header of an empty result
    yield sink.drain()


def _csv_type(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(arrow_type):
        return _csv_type(arrow_type.value_type)
    simple = (
        pa.types.is_integer,
        pa.types.is_floating,
        pa.types.is_decimal,
        pa.types.is_boolean,
        pa.types.is_string,
        pa.types.is_large_string,
        pa.types.is_date,
        pa.types.is_time,
        pa.types.is_timestamp,
        pa.types.is_null,
    )
    return arrow_type if any(check(arrow_type) for check in simple) else pa.string()


# --- Parquet and Arrow ---------------------------------------------------------------------------------


def _parquet_chunks(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    schema = pa.schema([pa.field(f.name, _parquet_type(f.type)) for f in reader.schema])
    sink = _DrainableSink()
    with pq.ParquetWriter(sink, schema, compression="snappy") as writer:
        for batch in reader:
            if batch.num_rows:
                writer.write_batch(_conform(batch, schema))  # one row group per batch
                yield sink.drain()
    yield sink.drain()


def _parquet_type(arrow_type: pa.DataType) -> pa.DataType:
    # Parquet has no month-day-nano interval; its text form keeps the information.
    return pa.string() if pa.types.is_interval(arrow_type) else arrow_type


def _arrow_chunks(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    sink = _DrainableSink()
    with ipc.new_stream(sink, reader.schema) as writer:
        yield sink.drain()
        for batch in reader:
            writer.write_batch(batch)
            yield sink.drain()
    yield sink.drain()


# --- Helpers -------------------------------------------------------------------------------------------


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Convert a batch to a writer's schema, turning types the format cannot hold into text."""
    if batch.schema.equals(schema):
        return batch
    arrays = [_convert(column, field.type) for column, field in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _convert(column: pa.Array, target: pa.DataType) -> pa.Array:
    if column.type.equals(target):
        return column
    if pa.types.is_dictionary(column.type):
        return _convert(column.dictionary_decode(), target)
    if pa.types.is_string(target):
        return pa.array([_text(v) for v in column.to_pylist()], pa.string())
    return column.cast(target)


def _text(value: Any) -> str | None:
    converted = json_value(value)
    if converted is None or isinstance(converted, str):
        return converted
    return json.dumps(converted, ensure_ascii=False)


class _DrainableSink(io.RawIOBase):
    """A write-only file that hands over what was written since the last `drain()`."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self.written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.written

    @property
    def has_data(self) -> bool:
        return bool(self._chunks)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
