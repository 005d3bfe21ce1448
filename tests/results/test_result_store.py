"""ResultStore: atomic Arrow IPC stream files within row and byte limits, on any filesystem.

Every behaviour runs on a local directory, a `file://` URL and fsspec's `memory://` filesystem (a real
fsspec filesystem, seen by pyarrow through `PyFileSystem`), once more with the rename turned off as on
an object store, where files are written straight to their final names.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc
import pytest

from openlytics.core.errors import InvalidInputError, QueryFailedError, ResultTooLargeError
from openlytics.engines.base import ColumnInfo, Statement
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.results.store import SUFFIX, ResultStore, renames_atomically

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])
MakeStore = Callable[..., ResultStore]
KINDS = ["directory", "file-url", "memory", "memory-without-rename"]


def batches(count: int, rows: int) -> Iterator[pa.RecordBatch]:
    for n in range(count):
        ids = list(range(n * rows, (n + 1) * rows))
        yield pa.RecordBatch.from_pydict({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA)


def files_in(store: ResultStore) -> list[str]:
    """Every file under the store's root, relative to it, as its filesystem lists them."""
    selector = pafs.FileSelector(store.base, recursive=True, allow_not_found=True)
    infos = store.filesystem.get_file_info(selector)
    return sorted(i.path[len(store.base) + 1 :] for i in infos if i.type == pafs.FileType.File)


def size_of(store: ResultStore, path: str) -> int:
    size: int = store.filesystem.get_file_info(f"{store.base}/{path}").size
    return size


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[MakeStore]:
    """Builds stores of one kind (the test's `kind` parameter); memory stores are emptied afterwards."""
    memory_roots: list[str] = []

    def make(kind: str, **options: Any) -> ResultStore:
        limits: dict[str, Any] = {"max_rows": 1_000_000, "max_bytes": 100 * 1024**2, **options}
        if kind == "directory":
            return ResultStore(tmp_path / "results", **limits)
        if kind == "file-url":
            return ResultStore(f"file://{tmp_path}/results", **limits)
        root = f"results-{uuid.uuid4().hex}"
        memory_roots.append(root)
        store = ResultStore(f"memory://{root}", **limits)
        # As on an object store, where a move is a copy: written straight to the final name.
        store.atomic_rename = kind != "memory-without-rename"
        return store

    yield make
    memory = fsspec.filesystem("memory")
    for root in memory_roots:
        if memory.exists(f"/{root}"):
            memory.rm(f"/{root}", recursive=True)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, make_store: MakeStore) -> ResultStore:
    return make_store(request.param)


def test_write_then_open_round_trips(store: ResultStore) -> None:
    stored = store.write("org-1", SCHEMA, batches(3, 1000))
    assert stored.row_count == 3000
    assert stored.columns == [ColumnInfo("id", "integer"), ColumnInfo("name", "string")]
    assert stored.path.startswith("org-1/") and stored.path.endswith(".arrows")
    assert files_in(store) == [stored.path]
    assert stored.byte_size == size_of(store, stored.path)
    table = store.open(stored.path).read_all()
    assert table.num_rows == 3000
    assert table.column("id").to_pylist() == list(range(3000))


def test_local_stores_give_local_paths_and_others_none(store: ResultStore, tmp_path: Path) -> None:
    stored = store.write("o", SCHEMA, batches(1, 10))
    local = store.local_path(stored.path)
    if isinstance(store.filesystem, pafs.PyFileSystem):
        assert local is None and store.root is None
    else:
        assert local == tmp_path / "results" / stored.path and local.is_file()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("compression", ["lz4", "zstd", None])
def test_stored_file_is_a_plain_ipc_stream(make_store: MakeStore, kind: str, compression: str | None) -> None:
    store = make_store(kind, compression=compression)
    stored = store.write("o", SCHEMA, batches(2, 100))
    # What `format=arrow` serves is the file as-is; a plain pyarrow reader must read it from bytes.
    with store.open_bytes(stored.path) as source:
        data = source.read()
    assert len(data) == stored.byte_size
    assert ipc.open_stream(data).read_all().num_rows == 200


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


@pytest.mark.parametrize("kind", KINDS)
def test_row_limit_stops_writing_and_leaves_no_file(make_store: MakeStore, kind: str) -> None:
    store = make_store(kind, max_rows=250, max_bytes=10**9)
    consumed: list[int] = []

    def tracked() -> Iterator[pa.RecordBatch]:
        for batch in batches(100, 100):
            consumed.append(batch.num_rows)
            yield batch

    with pytest.raises(ResultTooLargeError) as caught:
        store.write("o", SCHEMA, tracked())
    assert caught.value.details == {"limit": "rows", "value": 250}
    assert len(consumed) == 3  # stopped as soon as the limit was passed
    assert files_in(store) == []


@pytest.mark.parametrize("kind", KINDS)
def test_byte_limit_stops_writing_and_leaves_no_file(make_store: MakeStore, kind: str) -> None:
    store = make_store(kind, max_rows=10**9, max_bytes=50_000, compression=None)
    with pytest.raises(ResultTooLargeError) as caught:
        store.write("o", SCHEMA, batches(100, 1000))
    assert caught.value.details == {"limit": "bytes", "value": 50_000}
    assert files_in(store) == []


def test_a_failing_source_leaves_no_file(store: ResultStore) -> None:
    def failing() -> Iterator[pa.RecordBatch]:
        yield from batches(2, 10)
        raise QueryFailedError("boom")

    with pytest.raises(QueryFailedError):
        store.write("o", SCHEMA, failing())
    assert files_in(store) == []


def test_a_result_gets_its_final_name_only_when_complete(store: ResultStore) -> None:
    seen: list[list[str]] = []

    def watched() -> Iterator[pa.RecordBatch]:
        for batch in batches(3, 10):
            seen.append(files_in(store))
            yield batch

    stored = store.write("o", SCHEMA, watched())
    assert files_in(store) == [stored.path]
    if store.atomic_rename:
        assert not [name for names in seen for name in names if name.endswith(SUFFIX)]


def test_delete_removes_the_file(store: ResultStore) -> None:
    stored = store.write("o", SCHEMA, batches(1, 10))
    store.delete(stored.path)
    assert files_in(store) == []
    with pytest.raises(FileNotFoundError):
        store.open_bytes(stored.path)
    store.delete(stored.path)  # already gone: fine


def test_old_files_and_unfinished_temporaries_are_listed_for_the_sweep(store: ResultStore) -> None:
    stored = store.write("o", SCHEMA, batches(1, 10))
    left_over = "o/.0123456789abcdef.arrows.tmp"  # what a crash mid-write leaves
    with store.filesystem.open_output_stream(f"{store.base}/{left_over}") as sink:
        sink.write(b"half a result")
    assert list(store.files_older_than(3600)) == []  # both are young
    # A negative age puts the cutoff in the future: every file with a modification time is older.
    assert sorted(store.files_older_than(-60)) == [(left_over, True), (stored.path, False)]


def test_only_files_untouched_long_enough_are_listed(make_store: MakeStore) -> None:
    store = make_store("directory")
    old = store.write("o", SCHEMA, batches(1, 1))
    store.write("o", SCHEMA, batches(1, 1))
    os.utime(store.absolute(old.path), (0, 0))
    assert list(store.files_older_than(3600)) == [(old.path, False)]


def test_listing_an_empty_store_finds_nothing(store: ResultStore) -> None:
    assert list(store.files_older_than(-60)) == []


@pytest.mark.parametrize("path", ["../outside.arrows", "/etc/passwd", "o/../../x", "", "."])
def test_paths_outside_the_root_are_refused(store: ResultStore, path: str) -> None:
    with pytest.raises(InvalidInputError):
        store.local_path(path)
    with pytest.raises(InvalidInputError):
        store.open(path)
    with pytest.raises(InvalidInputError):
        store.open_bytes(path)
    with pytest.raises(InvalidInputError):
        store.delete(path)


def test_a_symlink_out_of_a_local_root_is_refused(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store("directory")
    (tmp_path / "secret").write_bytes(b"not a result")
    (store.root / "o").mkdir(parents=True)
    (store.root / "o" / "link.arrows").symlink_to(tmp_path / "secret")
    with pytest.raises(InvalidInputError):
        store.open("o/link.arrows")


@pytest.mark.parametrize("org_key", ["../x", "a/b", "", "x" * 65])
def test_org_keys_cannot_name_other_directories(store: ResultStore, org_key: str) -> None:
    with pytest.raises(InvalidInputError):
        store.write(org_key, SCHEMA, batches(1, 1))


@pytest.mark.parametrize("kind", KINDS)
def test_durable_writes_round_trip(make_store: MakeStore, kind: str) -> None:
    store = make_store(kind, durable=True)
    stored = store.write("o", SCHEMA, batches(2, 10))
    assert store.open(stored.path).read_all().num_rows == 20


def test_unknown_protocols_are_refused_with_the_setting_named() -> None:
    with pytest.raises(InvalidInputError) as caught:
        ResultStore("nosuchprotocol://bucket/results", max_rows=1, max_bytes=1)
    assert caught.value.field == "results_url"


def test_object_stores_are_written_without_a_rename(tmp_path: Path) -> None:
    assert renames_atomically(pafs.LocalFileSystem())
    assert renames_atomically(pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem("memory"))))
    assert not renames_atomically(pafs.S3FileSystem(region="us-east-1", anonymous=True))


def test_two_million_rows_stream_through(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, max_rows=10_000_000, max_bytes=10**9)
    stored = store.write("o", SCHEMA, batches(40, 50_000))
    assert stored.row_count == 2_000_000
    reader = store.open(stored.path)
    total = sum(pa.compute.sum(batch.column("id")).as_py() for batch in reader)
    assert total == sum(range(2_000_000))
