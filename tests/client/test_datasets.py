"""`client.datasets` against a live server (SQLite and PostgreSQL metadata)."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import gzip
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openlytics.client import (
    AsyncClient,
    Dataset,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tests.client.conftest import SdkOrg


def new_name() -> str:
    return f"ds_{uuid.uuid4().hex[:8]}"


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i64": pd.array([1, 2, 3], dtype="int64"),
            "i32": pd.array([10, 20, 30], dtype="int32"),
            "f64": [1.5, None, 3.25],
            "f32": pd.array([0.5, 1.5, 2.5], dtype="float32"),
            "flag": [True, False, True],
            "at": pd.to_datetime(["2024-01-01 10:00", "2024-02-01 00:00", None]).astype("datetime64[us]"),
            "label": ["a", None, "c"],
            "day": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None],
        }
    )


def test_rows_in_upsert_delete_and_lookups(org: SdkOrg) -> None:
    ds = org.editor.datasets.create(new_name(), {"id": "int", "amount": "float"}, primary_key="id")
    assert [(c.name, c.type) for c in ds.columns] == [("id", "int64"), ("amount", "float64")]
    appended = org.editor.datasets.append(ds, [{"id": 1, "amount": 1.5}, {"id": 2, "amount": "2.5"}])
    assert (appended.inserted, appended.row_count) == (2, 2)
    upserted = org.editor.datasets.upsert(ds.id, [{"id": 2, "amount": 20}, {"id": 3, "amount": 3}])
    assert (upserted.inserted, upserted.updated) == (1, 1)
    assert org.editor.datasets.delete_rows(ds, [1]).deleted == 1
    assert org.editor.datasets.delete_rows(ds, filters=[("amount", ">", 10)]).row_count == 1
    assert org.viewer.datasets.get(ds.uuid).row_count == 1
    found = org.viewer.datasets.find(ds.name)
    assert found is not None and found.id == ds.id
    assert ds.name in [d.name for d in org.viewer.datasets.list()]
    renamed = org.editor.datasets.update(ds.uuid, description="sales by id")
    assert renamed.description == "sales by id"
    org.editor.datasets.delete(ds)
    with pytest.raises(NotFoundError):
        org.viewer.datasets.get(ds.id)


def test_rows_with_python_dates_are_sent_as_iso_text(org: SdkOrg) -> None:
    ds = org.editor.datasets.create(new_name(), {"day": "date", "at": "datetime", "n": "float"})
    rows = [{"day": dt.date(2024, 5, 1), "at": dt.datetime(2024, 5, 1, 8, 30), "n": decimal.Decimal("1.5")}]
    assert org.editor.datasets.append(ds, rows).inserted == 1
    assert org.viewer.datasets.read_arrow(ds).to_pylist() == [
        {"day": dt.date(2024, 5, 1), "at": dt.datetime(2024, 5, 1, 8, 30), "n": 1.5}
    ]


def test_dataframe_in_and_out_keeps_dtypes(org: SdkOrg) -> None:
    frame = sample_frame()
    ds = org.editor.datasets.create(new_name())
    loaded = org.editor.datasets.reload(ds, frame)
    assert [(c.name, c.type) for c in loaded.dataset.columns] == [
        ("i64", "int64"),
        ("i32", "int32"),
        ("f64", "float64"),
        ("f32", "float32"),
        ("flag", "bool"),
        ("at", "datetime"),
        ("label", "string"),
        ("day", "date"),
    ]
    back = org.viewer.datasets.read_pandas(ds)
    assert dict(back.dtypes) == dict(frame.dtypes)
    pd.testing.assert_frame_equal(back, frame)


def test_a_dataframe_is_appended_and_upserted_as_arrow(org: SdkOrg) -> None:
    ds = org.editor.datasets.create(new_name(), {"id": "int64", "v": "float64"}, primary_key=["id"])
    org.editor.datasets.append(ds, pd.DataFrame({"id": [1, 2], "v": [1.0, 2.0]}))
    result = org.editor.datasets.upsert(ds, pd.DataFrame({"id": [2, 3], "v": [20.0, 30.0]}))
    assert (result.inserted, result.updated, result.row_count) == (1, 1, 3)
    table = org.viewer.datasets.read_arrow(ds).sort_by("id")
    assert table.column("v").to_pylist() == [1.0, 20.0, 30.0]


def test_arrow_in_and_out(org: SdkOrg) -> None:
    schema = pa.schema(
        [
            ("n", pa.int32()),
            ("x", pa.float64()),
            ("ok", pa.bool_()),
            ("day", pa.date32()),
            ("at", pa.timestamp("us")),
            ("name", pa.string()),
        ]
    )
    table = pa.table(
        {
            "n": [1, 2, None],
            "x": [0.5, None, 2.5],
            "ok": [True, None, False],
            "day": [dt.date(2024, 3, 1), None, dt.date(2024, 3, 3)],
            "at": [dt.datetime(2024, 3, 1, 12, 30), None, dt.datetime(2024, 3, 3)],
            "name": ["é", "b", None],
        },
        schema=schema,
    )
    ds = org.editor.datasets.create(new_name())
    org.editor.datasets.reload(ds, table)
    back = org.viewer.datasets.read_arrow(ds)
    assert back.schema == schema
    assert back.equals(table)
    assert org.viewer.datasets.read_arrow(ds, limit=1).num_rows == 1


def test_csv_gz_file_reload_with_a_semicolon_and_forced_types(org: SdkOrg, tmp_path: Path) -> None:
    path = tmp_path / "cities.csv.gz"
    path.write_bytes(gzip.compress("id;city;score\n1;Zürich;3\n2;Genève;4\n".encode()))
    ds = org.editor.datasets.create(new_name())
    loaded = org.editor.datasets.reload(ds, path, separator=";", force_types={"score": "float"})
    assert [(c.name, c.type) for c in loaded.dataset.columns] == [
        ("id", "int64"),
        ("city", "string"),
        ("score", "float64"),
    ]
    rows = org.viewer.datasets.read_arrow(ds).to_pylist()
    assert rows == [{"id": 1, "city": "Zürich", "score": 3.0}, {"id": 2, "city": "Genève", "score": 4.0}]


def test_parquet_file_reload_and_update_from_file(org: SdkOrg, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"id": [1, 2], "v": ["a", "b"]}), path)
    ds = org.editor.datasets.create(new_name())
    assert org.editor.datasets.reload(ds, str(path)).row_count == 2
    changes = tmp_path / "changes.csv"
    changes.write_text("id,v\n2,B\n3,c\n")
    result = org.editor.datasets.update_from_file(ds, changes, key="id")
    assert (result.inserted, result.updated, result.row_count) == (1, 1, 3)
    appended = tmp_path / "more.csv"
    appended.write_text("id,v\n4,d\n")
    assert org.editor.datasets.append(ds, appended).row_count == 4


def test_a_bad_row_names_row_and_column_and_leaves_the_data_unchanged(org: SdkOrg, tmp_path: Path) -> None:
    ds = org.editor.datasets.create(new_name())
    org.editor.datasets.reload(ds, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n" + "".join(f"{i},v{i}\n" for i in range(3000)) + "oops,z\n")
    with pytest.raises(ValidationError) as failed:
        org.editor.datasets.reload(ds, bad, force_types={"a": "int"})
    assert failed.value.details["row"] == 3000 and failed.value.details["column"] == "a"
    assert failed.value.details["value"] == "oops"
    with pytest.raises(ValidationError) as appended:
        org.editor.datasets.append(ds, [{"a": 3, "b": "z"}, {"a": "3,5", "b": "w"}])
    assert (appended.value.details["row"], appended.value.details["column"]) == (1, "a")
    after = org.viewer.datasets.get(ds)
    assert (after.row_count, after.version) == (2, 1)
    assert org.viewer.datasets.read_pandas(ds)["b"].tolist() == ["x", "y"]


def test_versions_and_restore(org: SdkOrg) -> None:
    ds = org.editor.datasets.create(new_name())
    org.editor.datasets.reload(ds, pa.table({"first": [1, 2, 3]}))
    org.editor.datasets.reload(ds, pa.table({"second": ["a"]}))
    versions = org.viewer.datasets.versions(ds)
    assert [(v.version, v.row_count, v.operation) for v in versions] == [(2, 1, "reload"), (1, 3, "reload")]
    assert org.viewer.datasets.read_arrow(ds, version=1).column("first").to_pylist() == [1, 2, 3]
    restored = org.editor.datasets.restore(ds, 1)
    assert (restored.version, restored.column_names, restored.row_count) == (3, ["first"], 3)
    assert org.viewer.datasets.read_arrow(ds).column_names == ["first"]


def test_progress_is_called_with_growing_byte_counts(org: SdkOrg, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("n,text\n" + "".join(f"{i},{'x' * 40}\n" for i in range(80_000)))
    size = path.stat().st_size
    assert size > 3 * 1024 * 1024  # several chunks
    seen: list[tuple[int, int | None]] = []
    ds = org.editor.datasets.create(new_name())
    org.editor.datasets.reload(ds, path, progress=lambda done, total: seen.append((done, total)))
    sent = [done for done, _ in seen]
    assert len(sent) >= 4 and sent == sorted(sent) and sent[0] == 0 and sent[-1] == size
    assert {total for _, total in seen} == {size}
    downloaded: list[int] = []
    out = tmp_path / "out.parquet"
    org.viewer.datasets.download(ds, out, progress=lambda done, _total: downloaded.append(done))
    assert pq.read_table(out).num_rows == 80_000
    assert downloaded == sorted(downloaded) and downloaded[-1] == out.stat().st_size


def test_viewers_read_but_do_not_write(org: SdkOrg) -> None:
    ds = org.editor.datasets.create(new_name(), {"n": "int"})
    with pytest.raises(PermissionDeniedError):
        org.viewer.datasets.append(ds, [{"n": 1}])
    with pytest.raises(PermissionDeniedError):
        org.viewer.datasets.reload(ds, pa.table({"n": [1]}))


def test_the_async_client_loads_and_reads(org: SdkOrg, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("k,v\n1,2.5\n")

    async def scenario() -> tuple[Dataset, Any]:
        async with AsyncClient(org.url, org.keys["editor"]) as client:
            ds = await client.datasets.create(new_name())
            await client.datasets.reload(ds, path)
            await client.datasets.append(ds, pd.DataFrame({"k": [2], "v": [3.5]}))
            return await client.datasets.get(ds.uuid), await client.datasets.read_arrow(ds)

    ds, table = asyncio.run(scenario())
    assert ds.row_count == 2 and table.column("v").to_pylist() == [2.5, 3.5]


def test_rows_need_neither_pandas_nor_pyarrow(org: SdkOrg) -> None:
    code = (
        "import sys\n"
        "from openlytics.client import Client\n"
        f"c = Client({org.url!r}, {org.keys['editor']!r})\n"
        f"ds = c.datasets.create({new_name()!r}, {{'n': 'int'}})\n"
        "assert c.datasets.append(ds, [{'n': 1}, {'n': 2}]).row_count == 2\n"
        "assert [v.version for v in c.datasets.versions(ds)] == [1]\n"
        "print(','.join(m for m in ('pandas', 'pyarrow') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
