"""Result formats: JSON, CSV, Parquet and Arrow, streamed batch by batch."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from openlytics.core.errors import InvalidInputError
from openlytics.results.formats import MEDIA_TYPES, rows_as_json_objects, stream_result

BIG_ROWS = 2_000_000
BIG_BATCH = 65_536
BIG_SCHEMA = pa.schema([("id", pa.int64()), ("label", pa.string()), ("day", pa.date32())])


def big_reader() -> pa.RecordBatchReader:
    """2M rows made batch by batch, never all at once."""

    def generate() -> Iterator[pa.RecordBatch]:
        for start in range(0, BIG_ROWS, BIG_BATCH):
            ids = pa.array(range(start, min(start + BIG_BATCH, BIG_ROWS)), pa.int64())
            labels = pa.compute.binary_join_element_wise("row", pa.compute.cast(ids, pa.string()), "")
            days = pa.compute.cast(pa.compute.cast(pa.compute.divide(ids, 1000), pa.int32()), pa.date32())
            yield pa.RecordBatch.from_arrays([ids, labels, days], schema=BIG_SCHEMA)

    return pa.RecordBatchReader.from_batches(BIG_SCHEMA, generate())


def collect(chunks: Iterator[bytes]) -> tuple[int, int]:
    """Number of chunks and the largest one, consuming the stream."""
    count = largest = 0
    for chunk in chunks:
        count += 1
        largest = max(largest, len(chunk))
    return count, largest


def sample_table() -> pa.Table:
    return pa.table(
        {
            "i": pa.array([1, None], pa.int64()),
            "f": pa.array([float("nan"), float("inf")]),
            "d": pa.array([Decimal("12345678901234567890.0123456789"), None], pa.decimal128(38, 10)),
            "s": ['quote " and \u00e9', None],
            "day": pa.array([dt.date(2024, 2, 29), None]),
            "ts": pa.array([dt.datetime(2024, 2, 29, 12, 34, 56, 789000), None], pa.timestamp("us")),
            "tz": pa.array(
                [dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC), None], pa.timestamp("us", "Europe/Paris")
            ),
            "b": pa.array([b"\x00\xff", None]),
            "l": pa.array([[1, 2], None]),
            "st": pa.array([{"a": 1, "b": "x"}, None]),
            "n": pa.array([None, None], pa.null()),
            "e": pa.array(["red", "blue"]).dictionary_encode(),
        }
    )


# --- JSON ----------------------------------------------------------------------------------------------


def test_json_values_follow_the_conventions() -> None:
    raw = b"".join(stream_result(sample_table().to_reader(), "json"))
    assert b"12345678901234567890.0123456789" in raw  # exact, not rounded through a float
    body = json.loads(raw)
    assert body["columns"][0] == {"name": "i", "type": "integer"}
    assert {"name": "e", "type": "string"} in body["columns"]
    first, second = body["rows"]
    assert first["f"] is None and second["f"] is None
    assert first["d"] == pytest.approx(12345678901234567890.0123456789)
    assert first["s"] == 'quote " and \u00e9'
    assert first["day"] == "2024-02-29"
    assert dt.datetime.fromisoformat(first["ts"]) == dt.datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert dt.datetime.fromisoformat(first["tz"]) == dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)
    assert base64.b64decode(first["b"]) == b"\x00\xff"
    assert first["l"] == [1, 2] and first["st"] == {"a": 1, "b": "x"}
    assert first["n"] is None and first["e"] == "red"
    assert set(second.values()) - {None} == {"blue"}


def test_json_of_an_empty_result_has_columns_and_no_rows() -> None:
    reader = pa.RecordBatchReader.from_batches(BIG_SCHEMA, [])
    assert json.loads(b"".join(stream_result(reader, "json"))) == {
        "columns": [
            {"name": "id", "type": "integer"},
            {"name": "label", "type": "string"},
            {"name": "day", "type": "date"},
        ],
        "rows": [],
    }


def test_json_streams_two_million_rows_chunk_by_chunk() -> None:
    chunks = stream_result(big_reader(), "json")
    header = next(chunks)
    assert header.startswith(b'{"columns": [') and header.endswith(b'"rows": [')
    seen = 0
    for chunk in chunks:
        if chunk == b"]}":
            break
        assert len(chunk) < 20 * 1024**2  # one batch per chunk, never the whole result
        rows = json.loads(b"[" + chunk.lstrip(b",") + b"]")
        assert rows[0]["id"] == seen and rows[-1]["label"] == f"row{seen + len(rows) - 1}"
        seen += len(rows)
    assert seen == BIG_ROWS


def test_json_custom_columns_are_used_for_the_header() -> None:
    from openlytics.engines.base import ColumnInfo

    reader = pa.table({"x": [1]}).to_reader()
    body = json.loads(b"".join(stream_result(reader, "json", columns=[ColumnInfo("x", "number")])))
    assert body["columns"] == [{"name": "x", "type": "number"}]


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_has_a_header_and_iso_dates() -> None:
    text = b"".join(stream_result(sample_table().to_reader(), "csv")).decode()
    lines = text.splitlines()
    assert lines[0].split(",")[:3] == ['"i"', '"f"', '"d"']
    assert "2024-02-29" in lines[1]
    assert "12345678901234567890.0123456789" in lines[1]
    assert len(lines) == 3


def test_csv_of_an_empty_result_is_its_header() -> None:
    reader = pa.RecordBatchReader.from_batches(BIG_SCHEMA, [])
    assert b"".join(stream_result(reader, "csv")).decode().strip() == '"id","label","day"'


def test_csv_streams_two_million_rows() -> None:
    count, largest = 0, 0
    chunks = []
    for chunk in stream_result(big_reader(), "csv"):
        count += 1
        largest = max(largest, len(chunk))
        chunks.append(chunk)
    assert count > 10 and largest < 20 * 1024**2
    table = pacsv.read_csv(io.BytesIO(b"".join(chunks)))
    assert table.num_rows == BIG_ROWS
    assert table.column("id")[BIG_ROWS - 1].as_py() == BIG_ROWS - 1
    assert table.column("day")[1999].as_py() == dt.date(1970, 1, 2)


# --- Parquet and Arrow ---------------------------------------------------------------------------------


def test_parquet_round_trips_values() -> None:
    table = sample_table()
    read = pq.read_table(io.BytesIO(b"".join(stream_result(table.to_reader(), "parquet"))))
    assert read.column("d").to_pylist() == table.column("d").to_pylist()
    assert read.column("st").to_pylist() == table.column("st").to_pylist()
    assert read.schema.field("n").type == pa.null()


def test_parquet_streams_two_million_rows_in_row_groups() -> None:
    chunks = list(stream_result(big_reader(), "parquet"))
    assert len(chunks) > 10 and max(map(len, chunks)) < 20 * 1024**2
    parquet = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
    assert parquet.metadata.num_rows == BIG_ROWS
    assert parquet.metadata.num_row_groups > 1
    assert pa.compute.sum(parquet.read(columns=["id"]).column("id")).as_py() == sum(range(BIG_ROWS))


def test_arrow_streams_two_million_rows() -> None:
    data = b"".join(stream_result(big_reader(), "arrow"))
    table = ipc.open_stream(data).read_all()
    assert table.num_rows == BIG_ROWS
    assert table.column("label")[123_456].as_py() == "row123456"


def test_arrow_round_trips_every_type() -> None:
    table = sample_table()
    read = ipc.open_stream(b"".join(stream_result(table.to_reader(), "arrow"))).read_all()
    assert read.schema == table.schema
    assert read.column("d").to_pylist() == table.column("d").to_pylist()


def test_unknown_format_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        stream_result(sample_table().to_reader(), "xml")
    assert set(MEDIA_TYPES) == {"json", "csv", "parquet", "arrow"}


# --- Inline rows ---------------------------------------------------------------------------------------


def test_rows_as_json_objects_is_json_ready_and_limited() -> None:
    rows = rows_as_json_objects(sample_table(), 1)
    assert len(rows) == 1
    row = rows[0]
    json.dumps(row)  # no Decimal, datetime or bytes left
    assert row["f"] is None
    assert row["day"] == "2024-02-29"
    assert row["d"] == "12345678901234567890.0123456789"  # too many digits for a float: kept exact as text
    assert row["b"] == base64.b64encode(b"\x00\xff").decode()
    assert row["e"] == "red"


def test_rows_as_json_objects_reads_across_batches_of_a_reader() -> None:
    rows = rows_as_json_objects(big_reader(), 100_000)
    assert len(rows) == 100_000
    assert rows[-1]["id"] == 99_999


def test_rows_as_json_objects_keeps_short_decimals_as_numbers() -> None:
    table = pa.table({"d": pa.array([Decimal("1234.567"), Decimal("10.000")], pa.decimal128(10, 3))})
    assert rows_as_json_objects(table, 10) == [{"d": 1234.567}, {"d": 10}]
