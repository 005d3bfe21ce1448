"""ResultStore: atomic Arrow IPC stream files within row and byte limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from openlytics.core.errors import InvalidInputError, QueryFailedError, ResultTooLargeError
from openlytics.engines.base import ColumnInfo, Statement
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.results.store import ResultStore

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def batches(count: int, rows: int) -> Iterator[pa.RecordBatch]:
    for n in range(count):
        ids = list(range(n * rows, (n + 1) * rows))
        yield pa.RecordBatch.from_pydict({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "results", max_rows=1_000_000, max_bytes=100 * 1024**2)


def test_write_then_open_round_trips(store: ResultStore) -> None:
    stored = store.write("org-1", SCHEMA, batches(3, 1000))
    assert stored.row_count == 3000
    assert stored.columns == [ColumnInfo("id", "integer"), ColumnInfo("name", "string")]
    assert stored.path.startswith("org-1/") and stored.path.endswith(".arrows")
    assert stored.byte_size == store.absolute(stored.path).stat().st_size
    table = store.open(stored.path).read_all()
    assert table.num_rows == 3000
    assert table.column("id").to_pylist() == list(range(3000))


@pytest.mark.parametrize("compression", ["lz4", "zstd", None])
def test_stored_file_is_a_plain_ipc_stream(tmp_path: Path, compression: str | None) -> None:
    store = ResultStore(tmp_path, max_rows=10_000, max_bytes=10**8, compression=compression)
    stored = store.write("o", SCHEMA, batches(2, 100))
    # What `format=arrow` serves is the file as-is; a plain pyarrow reader must read it from bytes.
    table = ipc.open_stream(store.absolute(stored.path).read_bytes()).read_all()
    assert table.num_rows == 200


def test_null_typed_columns_round_trip(store: ResultStore, tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "w.duckdb", sandboxed=True)
    try:
        with engine.execute(Statement.plain("SELECT NULL AS nothing, 1 AS one")) as execution:
            stored = store.write("o", execution.schema, execution.batches())
    finally:
        engine.close()
    table = store.open(stored.path).read_all()
    assert table.schema.field("nothing").type == pa.null()
    assert table.to_pylist() == [{"nothing": None, "one": 1}]
    assert stored.columns[0] == ColumnInfo("nothing", "null")


def test_empty_result_is_a_valid_stream(store: ResultStore) -> None:
    stored = store.write("o", SCHEMA, iter(()))
    assert stored.row_count == 0
    assert store.open(stored.path).read_all().schema == SCHEMA


def test_row_limit_stops_writing_and_leaves_no_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, max_rows=250, max_bytes=10**9)
    consumed: list[int] = []

    def tracked() -> Iterator[pa.RecordBatch]:
        for batch in batches(100, 100):
            consumed.append(batch.num_rows)
            yield batch

    with pytest.raises(ResultTooLargeError) as caught:
        store.write("o", SCHEMA, tracked())
    assert caught.value.details == {"limit": "rows", "value": 250}
    assert len(consumed) == 3  # stopped as soon as the limit was passed
    assert files_under(tmp_path) == []


def test_byte_limit_stops_writing_and_leaves_no_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, max_rows=10**9, max_bytes=50_000, compression=None)
    with pytest.raises(ResultTooLargeError) as caught:
        store.write("o", SCHEMA, batches(100, 1000))
    assert caught.value.details == {"limit": "bytes", "value": 50_000}
    assert files_under(tmp_path) == []


def test_a_failing_source_leaves_no_file(store: ResultStore) -> None:
    def failing() -> Iterator[pa.RecordBatch]:
        yield from batches(2, 10)
        raise QueryFailedError("boom")

    with pytest.raises(QueryFailedError):
        store.write("o", SCHEMA, failing())
    assert files_under(store.root) == []


def test_delete_removes_the_file(store: ResultStore) -> None:
    stored = store.write("o", SCHEMA, batches(1, 10))
    store.delete(stored.path)
    assert not store.absolute(stored.path).exists()
    store.delete(stored.path)  # already gone: fine


@pytest.mark.parametrize("path", ["../outside.arrows", "/etc/passwd", "o/../../x", "", "."])
def test_paths_outside_the_root_are_refused(store: ResultStore, path: str) -> None:
    with pytest.raises(InvalidInputError):
        store.absolute(path)
    with pytest.raises(InvalidInputError):
        store.open(path)


@pytest.mark.parametrize("org_key", ["../x", "a/b", "", "x" * 65])
def test_org_keys_cannot_name_other_directories(store: ResultStore, org_key: str) -> None:
    with pytest.raises(InvalidInputError):
        store.write(org_key, SCHEMA, batches(1, 1))


def test_two_million_rows_stream_through(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, max_rows=10_000_000, max_bytes=10**9)
    stored = store.write("o", SCHEMA, batches(40, 50_000))
    assert stored.row_count == 2_000_000
    reader = store.open(stored.path)
    total = sum(pa.compute.sum(batch.column("id")).as_py() for batch in reader)
    assert total == sum(range(2_000_000))
