"""Native API /api/v1/datasets on a live server (SQLite and PostgreSQL metadata)."""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from tests.conftest import Org


def create(org: Org, **body: object) -> dict[str, object]:
    response = org.editor.post("/api/v1/datasets", json={"name": f"ds_{uuid.uuid4().hex[:8]}", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_rows_upsert_delete_and_read_back(new_org: Org) -> None:
    ds = create(
        new_org,
        columns=[{"name": "id", "type": "int"}, {"name": "amount", "type": "float"}],
        primary_key=["id"],
    )
    base = f"/api/v1/datasets/{ds['id']}"
    appended = new_org.editor.post(f"{base}/rows", json=[{"id": 1, "amount": 1.5}, {"id": 2, "amount": 2}])
    assert appended.status_code == 200 and appended.json()["inserted"] == 2
    upserted = new_org.editor.post(
        f"{base}/upsert", json={"columns": ["id", "amount"], "rows": [[2, 20], [3, 3]]}
    )
    assert (upserted.json()["inserted"], upserted.json()["updated"]) == (1, 1)
    deleted = new_org.editor.post(
        f"{base}/delete-rows", json={"filters": [{"name": "amount", "op": ">", "value": 10}]}
    )
    assert deleted.json()["deleted"] == 1 and deleted.json()["row_count"] == 2
    data = new_org.viewer.get(f"{base}/data", params={"format": "json"})
    assert data.status_code == 200 and json.loads(data.content)["rows"] == [
        {"id": 1, "amount": 1.5},
        {"id": 3, "amount": 3.0},
    ]
    arrow = ipc.open_stream(new_org.viewer.get(f"{base}/data", params={"format": "arrow"}).content).read_all()
    assert arrow.num_rows == 2
    assert new_org.viewer.get(f"/api/v1/datasets/{ds['uuid']}").json()["row_count"] == 2
    assert new_org.viewer.post(f"{base}/rows", json=[{"id": 9}]).status_code == 403


def test_a_bad_value_is_an_error_naming_row_and_column(new_org: Org) -> None:
    ds = create(new_org, columns=[{"name": "amount", "type": "float"}])
    response = new_org.editor.post(
        f"/api/v1/datasets/{ds['id']}/rows", json=[{"amount": 1}, {"amount": "3,4"}]
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["row"] == 1 and error["details"]["column"] == "amount"
    assert error["details"]["value"] == "3,4" and "row 1" in error["message"]


def test_reload_from_csv_gzip_parquet_and_arrow_then_restore(new_org: Org) -> None:
    ds = create(new_org)
    base = f"/api/v1/datasets/{ds['id']}"
    csv = "id;city\n1;Zürich\n2;Genève\n".encode()
    loaded = new_org.editor.put(
        f"{base}/data",
        params={"separator": ";"},
        content=gzip.compress(csv),
        headers={"Content-Type": "application/gzip"},
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["dataset"]["columns"] == [
        {"name": "id", "type": "int64"},
        {"name": "city", "type": "string"},
    ]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": [1.5, 2.5, 3.5]}), buffer)
    parquet = new_org.editor.put(
        f"{base}/data",
        params={"force_types": json.dumps({"x": "float32"})},
        content=buffer.getvalue(),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    assert parquet.json()["dataset"]["columns"] == [{"name": "x", "type": "float32"}]
    sink = io.BytesIO()
    with ipc.new_stream(sink, pa.schema([("n", pa.int64())])) as writer:
        writer.write_table(pa.table({"n": [1, 2, 3, 4]}))
    arrow = new_org.editor.put(
        f"{base}/data",
        content=sink.getvalue(),
        headers={"Content-Type": "application/vnd.apache.arrow.stream"},
    )
    assert arrow.json()["row_count"] == 4
    versions = new_org.viewer.get(f"{base}/versions").json()["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    restored = new_org.editor.post(f"{base}/versions/1/restore")
    assert restored.json()["columns"][1]["name"] == "city"
    csv_back = new_org.viewer.get(f"{base}/data", params={"format": "csv"}).text
    assert "Zürich" in csv_back


def test_failed_file_load_keeps_data_and_async_load_reports_through_a_task(new_org: Org) -> None:
    ds = create(new_org)
    base = f"/api/v1/datasets/{ds['id']}"
    assert (
        new_org.editor.put(
            f"{base}/data", content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"}
        ).status_code
        == 200
    )
    bad = b"a,b\n" + b"".join(f"{i},{i}\n".encode() for i in range(6000)) + b"x,1\n"
    failed = new_org.editor.put(
        f"{base}/data",
        params={"force_types": '{"a": "int"}'},
        content=bad,
        headers={"Content-Type": "text/csv"},
    )
    assert failed.status_code == 422 and failed.json()["error"]["details"]["row"] == 6000
    assert new_org.viewer.get(base).json()["row_count"] == 1
    queued = new_org.editor.put(
        f"{base}/data",
        params={"run_async": "true"},
        content=b"a\n1\n2\n3\n",
        headers={"Content-Type": "text/csv"},
    )
    assert queued.status_code == 202
    task_id = queued.json()["task"]["uuid"]
    for _ in range(100):
        task = new_org.viewer.get(f"/api/v1/tasks/{task_id}").json()
        if task["status"] in ("success", "failure"):
            break
        time.sleep(0.05)
    assert task["status"] == "success" and task["result"]["row_count"] == 3
    updated = new_org.editor.patch(
        f"{base}/data", params={"key": "a"}, content=b"a\n3\n4\n", headers={"Content-Type": "text/csv"}
    )
    assert (updated.json()["inserted"], updated.json()["updated"]) == (1, 1)
