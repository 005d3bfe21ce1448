"""Dataset loads from files: CSV (gzip, separators, UTF-8), Parquet, failures, killed loads, tasks."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import IncompatibleValueError, InvalidInputError
from openlytics.core.principal import Principal, Role
from tests.conftest import make_settings
from tests.core.datasets_fixtures import Warehouse, warehouse_app  # noqa: F401


def unique() -> str:
    return f"ds_{uuid.uuid4().hex[:8]}"


def write_csv(path: Path, lines: list[str], *, compress: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    if compress:
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_gzip_csv_with_semicolons_and_accents_infers_types(warehouse: Warehouse, tmp_path: Path) -> None:
    w = warehouse
    path = write_csv(
        tmp_path / "cities.csv.gz",
        [
            "id;city;sales;active;day;at",
            "1;Zürich;1.5;true;2024-01-01;2024-01-01T10:00:00",
            "2;Genève;2;false;2024-02-01;2024-01-02 11:30:00",
            "3;Bâle;;true;2024-03-01;2024-01-03T00:00:00",
        ],
        compress=True,
    )
    ds = w.datasets.create(w.editor, name=unique())
    result = w.datasets.reload(w.editor, ds.id, LoadSource.from_csv(path, separator=";"))
    assert result.row_count == 3
    assert result.dataset.columns == [
        {"name": "id", "type": "int64"},
        {"name": "city", "type": "string"},
        {"name": "sales", "type": "float64"},
        {"name": "active", "type": "bool"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
    ]
    rows = w.datasets.read(w.editor, ds.id).read_all().to_pylist()
    assert [r["city"] for r in rows] == ["Zürich", "Genève", "Bâle"]


def test_forced_types_and_an_inferred_column_that_turns_out_text(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    w = warehouse
    lines = ["code,amount"] + [f"{i},{i}" for i in range(30_000)] + ["X1,5"]
    path = write_csv(tmp_path / "late_text.csv", lines)
    ds = w.datasets.create(w.editor, name=unique())
    result = w.datasets.reload(w.editor, ds.id, LoadSource.from_csv(path), force_types={"amount": "float"})
    assert result.dataset.columns == [
        {"name": "code", "type": "string"},
        {"name": "amount", "type": "float64"},
    ]
    assert result.row_count == 30_001


def test_bad_value_in_row_5000_keeps_the_previous_version(warehouse: Warehouse, tmp_path: Path) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique())
    good = write_csv(tmp_path / "good.csv", ["id,amount", "1,1.5", "2,2.5"])
    before = w.datasets.reload(w.editor, ds.id, LoadSource.from_csv(good)).dataset
    lines = ["id,amount"] + [f"{i},{'oops' if i == 5000 else i + 0.5}" for i in range(10_000)]
    bad = write_csv(tmp_path / "bad.csv", lines)
    with pytest.raises(IncompatibleValueError) as caught:
        w.datasets.reload(w.editor, ds.id, LoadSource.from_csv(bad), force_types={"amount": "float64"})
    error = caught.value
    assert (error.row, error.column, error.value, error.expected_type) == (5000, "amount", "oops", "float64")
    after = w.datasets.get(w.editor, ds.id)
    assert (after.version, after.columns, after.row_count) == (before.version, before.columns, 2)
    assert w.datasets.read(w.editor, ds.id).read_all().num_rows == 2
    assert [v.version for v in w.datasets.versions(w.editor, ds.id)] == [before.version]
    tables = w.app.sources.engine(w.app.sources.default(w.editor)).warehouse_tables()
    assert tables.table_names(f"_ds_{ds.id}_v") == [before.table_name]


def test_update_from_file_upserts_by_key_with_the_schema_unchanged(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique())
    first = write_csv(tmp_path / "first.csv", ["id;name;score", "1;Anaïs;1", "2;Bob;2"])
    w.datasets.reload(w.editor, ds.id, LoadSource.from_csv(first, separator=";"))
    changes = write_csv(tmp_path / "changes.csv", ["id;name;score", "2;Bób;20", "3;Çé;3"])
    result = w.datasets.update_from(w.editor, ds.id, LoadSource.from_csv(changes, separator=";"), ["id"])
    assert (result.inserted, result.updated, result.row_count) == (1, 1, 3)
    rows = sorted(w.datasets.read(w.editor, ds.id).read_all().to_pylist(), key=lambda r: r["id"])
    assert rows == [
        {"id": 1, "name": "Anaïs", "score": 1},
        {"id": 2, "name": "Bób", "score": 20},
        {"id": 3, "name": "Çé", "score": 3},
    ]
    wrong = write_csv(tmp_path / "wrong.csv", ["id;name;score", "4;D;not a number"])
    with pytest.raises(IncompatibleValueError) as caught:
        w.datasets.update_from(w.editor, ds.id, LoadSource.from_csv(wrong, separator=";"), ["id"])
    assert (caught.value.row, caught.value.column) == (0, "score")
    assert w.datasets.get(w.editor, ds.id).row_count == 3


def test_parquet_reload_with_forced_type_errors_naming_the_row(warehouse: Warehouse, tmp_path: Path) -> None:
    w = warehouse
    path = tmp_path / "data.parquet"
    pq.write_table(
        pa.table({"id": pa.array(range(100), pa.int16()), "code": [str(i) for i in range(99)] + ["x"]}), path
    )
    ds = w.datasets.create(w.editor, name=unique())
    result = w.datasets.reload(w.editor, ds.id, LoadSource.from_parquet(path))
    assert result.dataset.columns == [{"name": "id", "type": "int32"}, {"name": "code", "type": "string"}]
    with pytest.raises(IncompatibleValueError) as caught:
        w.datasets.reload(w.editor, ds.id, LoadSource.from_parquet(path), force_types={"code": "int"})
    assert (caught.value.row, caught.value.column, caught.value.value) == (99, "code", "x")
    assert w.datasets.get(w.editor, ds.id).row_count == 100
    with pytest.raises(InvalidInputError):
        w.datasets.reload(w.editor, ds.id, LoadSource.from_parquet(path), force_types={"code": "complex"})


def test_background_task_runs_a_load_and_reports_failure(warehouse: Warehouse, tmp_path: Path) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique())
    path = write_csv(tmp_path / "t.csv", ["a", "1"])
    w.app.tasks.register(
        "test_csv_load",
        lambda who, args: {
            "rows": w.datasets.reload(who, args["dataset_id"], LoadSource.from_csv(path)).row_count
        },
        queue="loads",
    )
    task = w.app.tasks.submit(w.editor, "test_csv_load", {"dataset_id": ds.id}, wait=30)
    assert (task.status, task.result) == ("success", {"rows": 1})
    failing = w.app.tasks.submit(w.editor, "test_csv_load", {"dataset_id": 10**9}, wait=30)
    assert failing.status == "failure" and "not found" in (failing.error or "")
    assert w.app.tasks.get(w.viewer, str(failing.uuid)).id == failing.id


KILLED_LOAD = textwrap.dedent(
    """
    import sys, time
    import pyarrow as pa
    from openlytics.app import Openlytics
    from openlytics.core.datasets.load_sources import LoadSource
    from openlytics.core.principal import Principal, Role
    from openlytics.settings import Settings

    app = Openlytics(Settings(data_dir=sys.argv[1], scheduler_enabled=False))
    app.start()
    editor = Principal(org_id=int(sys.argv[2]), user_id=None, role=Role.EDITOR, credential="user_key")
    schema = pa.schema([("n", pa.int64())])

    def batches():
        for i in range(10**6):
            yield pa.record_batch([pa.array(range(i * 10_000, (i + 1) * 10_000))], schema=schema)
            if i == 20:
                print("loading", flush=True)
            if i > 20:
                time.sleep(0.05)

    app.datasets.reload(editor, int(sys.argv[3]), LoadSource.from_arrow(pa.RecordBatchReader.from_batches(schema, batches())))
    """
)


def test_a_killed_load_leaves_the_data_intact(tmp_path: Path) -> None:
    # The killed child finds the warehouse from the data directory alone: the DuckDB file.
    settings, _ = make_settings(tmp_path / "data", "sqlite", warehouse="duckdb", scheduler_enabled=False)
    app = Openlytics(settings)
    app.start()
    org_id = app.identity.organizations()[0].id
    editor = Principal(org_id=org_id, user_id=None, role=Role.EDITOR, credential="user_key")
    ds = app.datasets.create(editor, name="kept")
    app.datasets.reload(editor, ds.id, LoadSource.from_rows([{"n": 1}, {"n": 2}]))
    app.stop()

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(tmp_path / "data"), str(org_id), str(ds.id)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "loading"
    time.sleep(0.3)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    app = Openlytics(settings)
    app.start()
    try:
        after = app.datasets.get(editor, ds.id)
        assert (after.version, after.row_count, after.columns) == (1, 2, [{"name": "n", "type": "int64"}])
        assert app.datasets.read(editor, ds.id).read_all().to_pylist() == [{"n": 1}, {"n": 2}]
        # The next write sweeps what the killed load left and works.
        assert app.datasets.reload(editor, ds.id, LoadSource.from_rows([{"n": 3}])).row_count == 1
        tables = app.sources.engine(app.sources.default(editor)).warehouse_tables()
        assert len(tables.table_names(f"_ds_{ds.id}_v")) == 2
    finally:
        app.stop()
