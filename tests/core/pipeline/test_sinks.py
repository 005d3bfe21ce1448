"""Sinks: the warehouse (datasets) and an external PostgreSQL (the local server), loads all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import InvalidInputError, NotFoundError, OpenlyticsError
from openlytics.core.pipeline.sinks import PostgresSink, WarehouseSink
from openlytics.core.pipeline.spool import SpooledBatch
from openlytics.core.principal import Principal
from tests.conftest import POSTGRES_URL, make_settings


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def org_id(app: Openlytics) -> int:
    return app.identity.organizations()[0].id


@pytest.fixture
def pg_schema() -> Iterator[str]:
    name = f"sink_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        engine.dispose()


@pytest.fixture
def pg_sink(pg_schema: str) -> Iterator[PostgresSink]:
    sink = PostgresSink(POSTGRES_URL, default_schema=pg_schema)
    yield sink
    sink.close()


def rows(app: Openlytics, org_id: int, name: str) -> list[dict[str, object]]:
    system = Principal.system(org_id)
    dataset = app.datasets.find_by_name(system, name)
    assert dataset is not None
    return app.datasets.read(system, dataset.id).read_all().to_pylist()


def test_warehouse_sink_creates_widens_and_loads(app: Openlytics, org_id: int) -> None:
    sink = app.pipeline_outputs.sink(org_id)
    assert isinstance(sink, WarehouseSink)
    assert sink.table_columns(None, "clicks") is None
    sink.create_table("public", "clicks", [("id", "int64"), ("page", "string")], primary_key=["id"])
    assert sink.table_columns(None, "clicks") == {"id": "int64", "page": "string"}
    assert sink.primary_key(None, "clicks") == ["id"]
    assert sink.load(None, "clicks", pa.table({"id": [1, 2], "page": ["/a", "/b"]})) == 2

    sink.add_columns(None, "clicks", [("at", "datetime"), ("ms", "float64")])
    assert sink.table_columns("PUBLIC", "clicks") == {
        "id": "int64",
        "page": "string",
        "at": "datetime",
        "ms": "float64",
    }
    at = datetime(2026, 1, 2, 3, 4, 5)
    batch = pa.table({"id": [3], "page": ["/c"], "at": [at], "ms": [1.5]})
    assert sink.load(None, "clicks", batch) == 1
    assert rows(app, org_id, "clicks") == [
        {"id": 1, "page": "/a", "at": None, "ms": None},
        {"id": 2, "page": "/b", "at": None, "ms": None},
        {"id": 3, "page": "/c", "at": at, "ms": 1.5},
    ]


def test_warehouse_sink_loads_a_bad_batch_not_at_all(app: Openlytics, org_id: int) -> None:
    sink = WarehouseSink(app.datasets, org_id)
    sink.create_table(None, "orders", [("id", "int64"), ("total", "float64")])
    sink.load(None, "orders", pa.table({"id": [1], "total": [9.5]}))
    bad = pa.table({"id": ["2", "three"], "total": ["1.0", "2.0"]})
    with pytest.raises(InvalidInputError):
        sink.load(None, "orders", bad)
    assert rows(app, org_id, "orders") == [{"id": 1, "total": 9.5}]


def test_warehouse_sink_has_one_schema(app: Openlytics, org_id: int) -> None:
    sink = WarehouseSink(app.datasets, org_id)
    with pytest.raises(InvalidInputError, match="one schema"):
        sink.create_table("sales", "orders", [("id", "int64")])
    with pytest.raises(NotFoundError):
        sink.load(None, "missing", pa.table({"id": [1]}))


def test_postgres_sink_creates_widens_and_loads(pg_sink: PostgresSink, pg_schema: str) -> None:
    assert pg_sink.table_columns(None, "visits") is None
    pg_sink.create_table(None, "visits", [("id", "int64"), ("Page Name", "string")], primary_key=["id"])
    assert pg_sink.table_columns(pg_schema, "visits") == {"id": "int64", "Page Name": "string"}
    assert pg_sink.primary_key(None, "visits") == ["id"]
    loaded = pg_sink.load(None, "visits", pa.table({"id": [1, 2], "Page Name": ["/a", "/b"]}))
    assert loaded == 2

    pg_sink.add_columns(None, "visits", [("seen", "datetime"), ("ok", "bool"), ("n", "int32")])
    columns = pg_sink.table_columns(None, "visits")
    assert columns == {"id": "int64", "Page Name": "string", "seen": "datetime", "ok": "bool", "n": "int32"}
    seen = datetime(2026, 5, 1, 12, 0)
    pg_sink.load(None, "visits", pa.table({"id": [3], "Page Name": ["/c"], "seen": [seen], "ok": [True]}))
    with pg_sink.engine.connect() as conn:
        got = conn.exec_driver_sql(
            f'SELECT id, "Page Name", seen, ok, n FROM "{pg_schema}".visits ORDER BY id'
        )
        assert [tuple(r) for r in got] == [
            (1, "/a", None, None, None),
            (2, "/b", None, None, None),
            (3, "/c", seen, True, None),
        ]
    assert pg_sink.tables(None) == {"visits": columns}


def test_postgres_sink_loads_a_failing_batch_not_at_all(pg_sink: PostgresSink, pg_schema: str) -> None:
    pg_sink.create_table(None, "items", [("id", "int64"), ("name", "string")], primary_key=["id"])
    pg_sink.load(None, "items", pa.table({"id": [1], "name": ["one"]}))
    with pytest.raises(OpenlyticsError):  # the second row repeats the first's key
        pg_sink.load(None, "items", pa.table({"id": [2, 1], "name": ["two", "again"]}))
    with pytest.raises(OpenlyticsError):
        pg_sink.load(None, "items", pa.table({"id": [3], "unknown": ["x"]}))
    with pg_sink.engine.connect() as conn:
        assert conn.exec_driver_sql(f'SELECT count(*) FROM "{pg_schema}".items').scalar() == 1


def test_dataset_add_columns_alters_in_place_without_a_new_version(app: Openlytics, org_id: int) -> None:
    system = Principal.system(org_id)
    dataset = app.datasets.create(system, name="people", columns=[{"name": "id", "type": "int64"}])
    app.datasets.append(system, dataset.id, LoadSource.from_rows([{"id": 1}]))
    widened = app.datasets.add_columns(system, dataset.id, [{"name": "age", "type": "int32"}])
    assert widened.version == dataset.version and widened.table_name == dataset.table_name
    assert widened.columns == [{"name": "id", "type": "int64"}, {"name": "age", "type": "int32"}]
    assert app.datasets.versions(system, dataset.id)[0].columns == widened.columns
    outcome = app.jobs.run_adhoc(system, "SELECT id, age FROM people", wait=30, max_age=0)
    assert outcome.result is not None and app.jobs.inline_rows(outcome.result) == [{"id": 1, "age": None}]
    with pytest.raises(InvalidInputError, match="exists"):
        app.datasets.add_columns(system, dataset.id, [{"name": "age", "type": "string"}])
    with pytest.raises(InvalidInputError):
        app.datasets.add_columns(system, dataset.id, [{"name": "x", "type": "geometry"}])

    empty = app.datasets.create(system, name="later")
    assert app.datasets.add_columns(system, empty.id, [{"name": "a", "type": "string"}]).columns == [
        {"name": "a", "type": "string"}
    ]


def test_warehouse_sink_records_load_marks_with_the_rows_and_refuses_them_twice(
    app: Openlytics, org_id: int
) -> None:
    sink = WarehouseSink(app.datasets, org_id)
    sink.create_table(None, "marked", [("n", "int64")])
    assert sink.loaded_marks(None, "marked", ["f1:t", "f2:t"]) == set()
    assert sink.load_marked(None, "marked", pa.table({"n": [1, 2]}), ["f1:t"]) == 2
    assert sink.loaded_marks(None, "marked", ["f1:t", "f2:t"]) == {"f1:t"}
    with pytest.raises(OpenlyticsError):  # a mark already recorded: nothing of this load is inserted
        sink.load_marked(None, "marked", pa.table({"n": [3]}), ["f2:t", "f1:t"])
    assert [r["n"] for r in rows(app, org_id, "marked")] == [1, 2]
    assert sink.loaded_marks(None, "marked", ["f2:t"]) == set()


def test_a_batch_processed_again_loads_only_the_files_each_table_lacks(app: Openlytics, org_id: int) -> None:
    """A batch comes back after its process died between a load and the ack, grouped anew: rows of
    files already loaded into a table are not loaded again (exactly once per spool file)."""
    processor = app.pipeline_processor

    def batch(*files: tuple[str, list[int]]) -> SpooledBatch:
        events = [{"seq": n, "_metadata": {"event_type": "marked_events"}} for _, seqs in files for n in seqs]
        names, counts = [name for name, _ in files], [len(seqs) for _, seqs in files]
        return SpooledBatch(org_id, "elsewhere~1~x", events, files=names, file_events=counts)

    first = processor.complete_events(processor.prepare(batch(("f1.jsonl", [0, 1]))))
    assert first.counts["VALID"] == 2
    again = processor.complete_events(processor.prepare(batch(("f1.jsonl", [0, 1]), ("f2.jsonl", [2, 3]))))
    assert again.counts["VALID"] == 4  # the statuses of a batch are counted when it completes
    assert [r["seq"] for r in rows(app, org_id, "marked_events")] == [0, 1, 2, 3]
