"""Running queries as jobs: wait, cache, de-duplication, cancel, timeouts, results and downloads."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from openlytics.settings import Settings
from openlytics.store.models import Job
from openlytics.testing import LiveServer
from tests.warehouse_sql import SLOW_SQL, digits_cross_join, numbered


def wait_for_job(client: httpx.Client, job_id: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] >= 3:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def wait_until_started(client: httpx.Client, job_id: int) -> None:
    deadline = time.monotonic() + 10
    while client.get(f"/api/v1/jobs/{job_id}").json()["status"] != 2:
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.02)


def test_fast_query_answers_with_rows_in_one_round_trip(new_org) -> None:
    response = new_org.editor.post(
        "/api/v1/runs",
        json={
            "sql": "SELECT 1::INTEGER AS i, 2.5::DOUBLE PRECISION AS f, 'x' AS s, true AS b, "
            "DATE '2024-01-02' AS d, "
            "TIMESTAMP '2024-01-02 03:04:05' AS ts, 1.25::DECIMAL(10,2) AS dec, NULL AS nothing",
            "wait": 10,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"]["status"] == 3 and body["job"]["status_name"] == "SUCCESS"
    result = body["result"]
    types = {c["name"]: c["type"] for c in result["columns"]}
    assert types.pop("nothing") in ("null", "string")  # an untyped NULL: DuckDB's NULL, PostgreSQL's text
    assert types == {
        "i": "integer",
        "f": "float",
        "s": "string",
        "b": "boolean",
        "d": "date",
        "ts": "datetime",
        "dec": "decimal",
    }
    row = result["rows"][0]
    assert row["i"] == 1 and row["f"] == 2.5 and row["s"] == "x" and row["b"] is True
    assert row["d"] == "2024-01-02" and row["ts"].startswith("2024-01-02T03:04:05") and row["nothing"] is None
    assert float(row["dec"]) == 1.25
    assert result["row_count"] == 1 and body["job"]["result_id"] == result["id"]


def test_syntax_errors_answer_400_with_the_engine_message(new_org) -> None:
    response = new_org.editor.post("/api/v1/runs", json={"sql": "SELEC 1", "wait": 10})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "query_failed" and "syntax error" in error["message"].lower()
    job = new_org.editor.get(f"/api/v1/jobs/{error['details']['job_id']}").json()
    assert job["status"] == 4 and job["error"] == error["message"]


def test_max_age_returns_a_cached_result_without_running(new_org) -> None:
    body = {"sql": "SELECT random() AS r", "max_age": 3600, "wait": 10}
    first = new_org.editor.post("/api/v1/runs", json=body).json()
    second = new_org.editor.post("/api/v1/runs", json=body).json()
    assert second["job"] is None and second["result"]["id"] == first["result"]["id"]
    fresh = new_org.editor.post("/api/v1/runs", json={**body, "max_age": 0}).json()
    assert fresh["job"] is not None and fresh["result"]["id"] != first["result"]["id"]
    source_id = first["result"]["data_source_id"]
    new_org.editor.post(f"/api/v1/data-sources/{source_id}/invalidate-cache")
    after = new_org.editor.post("/api/v1/runs", json=body).json()
    assert after["job"] is not None and after["result"]["id"] not in (
        first["result"]["id"],
        fresh["result"]["id"],
    )


def test_identical_running_queries_share_one_job(new_org) -> None:
    sql = SLOW_SQL + " -- shared"
    first = new_org.editor.post("/api/v1/runs", json={"sql": sql, "wait": 0})
    assert first.status_code == 202
    second = new_org.admin.post("/api/v1/runs", json={"sql": sql, "wait": 0})
    assert second.json()["job"]["id"] == first.json()["job"]["id"]
    new_org.editor.post(f"/api/v1/jobs/{first.json()['job']['id']}/cancel")
    # The answer may come before a loaded machine has unwound the statement: wait for the end.
    assert wait_for_job(new_org.editor, first.json()["job"]["id"])["status"] == 5


def test_cancel_interrupts_a_running_warehouse_statement(new_org) -> None:
    started = new_org.editor.post("/api/v1/runs", json={"sql": SLOW_SQL, "wait": 0})
    assert started.status_code == 202
    job_id = started.json()["job"]["id"]
    wait_until_started(new_org.editor, job_id)
    new_org.editor.post(f"/api/v1/jobs/{job_id}/cancel")
    cancelled = wait_for_job(new_org.editor, job_id)  # the cross join would run for minutes otherwise
    assert cancelled["status"] == 5 and cancelled["status_name"] == "CANCELLED"
    assert new_org.viewer.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 403  # not the viewer's job


@pytest.mark.postgres
def test_cancel_interrupts_a_running_postgres_statement(new_org) -> None:
    source = new_org.admin.post(
        "/api/v1/data-sources", json={"name": "pg", "url": "postgresql://postgres@127.0.0.1:5432/test"}
    ).json()
    run = new_org.editor.post(
        "/api/v1/runs", json={"sql": "SELECT pg_sleep(60)", "data_source_id": source["id"], "wait": 0}
    ).json()
    wait_until_started(new_org.editor, run["job"]["id"])
    time.sleep(0.3)  # let the statement reach the server
    assert new_org.editor.post(f"/api/v1/jobs/{run['job']['id']}/cancel").json()["status"] == 5
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with engine.connect() as conn:
        sleeping = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'"
            )
        ).scalar()
    engine.dispose()
    assert sleeping == 0


def test_per_source_timeout_fails_the_job_with_a_clear_error(new_org, tmp_path) -> None:
    source_id = new_org.viewer.get("/api/v1/data-sources").json()["items"][0]["id"]
    new_org.admin.patch(f"/api/v1/data-sources/{source_id}", json={"options": {"timeout": 0.5}})
    response = new_org.editor.post("/api/v1/runs", json={"sql": SLOW_SQL, "wait": 20})
    assert response.status_code == 504, response.text
    assert response.json()["error"]["code"] == "query_timeout"
    job = new_org.editor.get(f"/api/v1/jobs/{response.json()['error']['details']['job_id']}").json()
    assert job["status"] == 4 and "time limit" in job["error"]


def test_per_query_timeout_applies_to_saved_queries(new_org) -> None:
    q = new_org.editor.post("/api/v1/queries", json={"name": "slow", "sql": SLOW_SQL, "timeout": 0.5}).json()
    response = new_org.viewer.post(f"/api/v1/queries/{q['id']}/run", json={"wait": 20})
    assert response.status_code == 504


def test_slow_runs_answer_202_and_can_be_polled_to_success(new_org) -> None:
    sql = digits_cross_join(6, "count(*) AS n")
    response = new_org.editor.post("/api/v1/runs", json={"sql": sql, "wait": 0})
    assert response.status_code == 202
    assert response.json()["result"] is None
    job = wait_for_job(new_org.editor, response.json()["job"]["id"])
    assert job["status"] == 3
    result = new_org.editor.get(f"/api/v1/results/{job['result_id']}").json()
    assert result["rows"] == [{"n": 1_000_000}]


def test_results_download_in_every_format_with_types(new_org) -> None:
    run = new_org.editor.post(
        "/api/v1/runs",
        json={
            "sql": numbered(
                5000,
                "n AS id, 'name ' || n AS name, CAST(n * 0.5 AS DECIMAL(10, 1)) AS half, "
                "DATE '2024-01-01' + n AS day",
            ),
            "wait": 30,
        },
    ).json()
    result = run["result"]
    assert result["row_count"] == 5000 and result["rows"] is None  # too many to inline
    base = f"/api/v1/results/{result['id']}/data"

    table = pa.ipc.open_stream(new_org.viewer.get(base, params={"format": "arrow"}).content).read_all()
    assert table.num_rows == 5000 and table.column_names == ["id", "name", "half", "day"]
    assert pa.types.is_integer(table.schema.field("id").type) and pa.types.is_date(
        table.schema.field("day").type
    )

    parquet = pq.read_table(io.BytesIO(new_org.viewer.get(base, params={"format": "parquet"}).content))
    assert parquet.num_rows == 5000 and parquet.column("name")[4999].as_py() == "name 4999"

    rows = list(csv.DictReader(io.StringIO(new_org.viewer.get(base, params={"format": "csv"}).text)))
    assert len(rows) == 5000 and rows[2] == {"id": "2", "name": "name 2", "half": "1.0", "day": "2024-01-03"}

    doc = json.loads(new_org.viewer.get(base, params={"format": "json"}).content)
    assert len(doc["rows"]) == 5000 and doc["columns"][3] == {"name": "day", "type": "date"}
    assert doc["rows"][10] == {"id": 10, "name": "name 10", "half": 5.0, "day": "2024-01-11"}

    assert new_org.viewer.get(base, params={"format": "xml"}).status_code == 422


def test_oversized_results_fail_with_a_clear_error(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_result_rows=1000, scheduler_enabled=False)
    with LiveServer(settings) as live:
        headers = {"Authorization": f"Bearer {live.admin_key}"}
        response = httpx.post(
            f"{live.url}/api/v1/runs", json={"sql": "SELECT * FROM range(5000)", "wait": 10}, headers=headers
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "result_too_large"
        assert "1,000" in response.json()["error"]["message"]
        assert list((tmp_path / "data" / "results").rglob("*.tmp*")) == []
        ok = httpx.post(f"{live.url}/api/v1/runs", json={"sql": "SELECT 1 AS x", "wait": 10}, headers=headers)
        assert ok.status_code == 200


def test_jobs_left_started_by_a_dead_server_fail_on_restart(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data", scheduler_enabled=False)
    with LiveServer(settings) as live:
        headers = {"Authorization": f"Bearer {live.admin_key}"}
        job_id = httpx.post(
            f"{live.url}/api/v1/runs", json={"sql": "SELECT 1", "wait": 10}, headers=headers
        ).json()["job"]["id"]
        key = live.admin_key
    # Pretend the process died mid-query: the job is STARTED with nobody running it.
    from openlytics.store.db import Database

    db = Database(settings.metadata_url)
    with db.session() as s:
        s.execute(sa.update(Job).where(Job.id == job_id).values(status=2, result_id=None, finished_at=None))
    db.dispose()
    with LiveServer(settings.model_copy(update={"admin_api_key": live.settings.admin_api_key})) as again:
        job = httpx.get(
            f"{again.url}/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert job["status"] == 4 and "interrupted" in job["error"]


def test_concurrent_runs_all_succeed_and_the_server_keeps_serving(new_org) -> None:
    errors: list[str] = []

    def worker(i: int) -> None:
        response = new_org.editor.post(
            "/api/v1/runs", json={"sql": digits_cross_join(5, f"{i} AS i, sum(a1.x) AS s"), "wait": 30}
        )
        if response.status_code != 200 or response.json()["result"]["rows"][0]["i"] != i:
            errors.append(response.text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_stopping_the_server_interrupts_running_jobs_instead_of_leaving_them_started(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data", scheduler_enabled=False)
    live = LiveServer(settings).start()
    headers = {"Authorization": f"Bearer {live.admin_key}"}
    job_id = httpx.post(f"{live.url}/api/v1/runs", json={"sql": SLOW_SQL, "wait": 0}, headers=headers).json()[
        "job"
    ]["id"]
    with httpx.Client(base_url=live.url, headers=headers) as c:
        wait_until_started(c, job_id)
    t0 = time.monotonic()
    live.stop()
    assert time.monotonic() - t0 < 10
    from openlytics.store.db import Database

    db = Database(settings.metadata_url)
    with db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.status == 4 and job.error_code == "interrupted"
    db.dispose()


@pytest.mark.mariadb
def test_cancel_kills_a_running_mariadb_statement(new_org) -> None:
    source = new_org.admin.post(
        "/api/v1/data-sources", json={"name": "maria", "url": "mysql://root@127.0.0.1:3306/test"}
    ).json()
    marker = f"SELECT SLEEP(60) AS slept_{int(time.time() * 1000)}"
    run = new_org.editor.post(
        "/api/v1/runs", json={"sql": marker, "data_source_id": source["id"], "wait": 0}
    ).json()
    wait_until_started(new_org.editor, run["job"]["id"])
    time.sleep(0.3)
    assert new_org.editor.post(f"/api/v1/jobs/{run['job']['id']}/cancel").json()["status"] == 5
    engine = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/test")
    deadline = time.monotonic() + 5
    while True:
        with engine.connect() as conn:
            running = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.processlist WHERE info = :q"), {"q": marker}
            ).scalar()
        if running == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    engine.dispose()
    assert running == 0


def test_ad_hoc_runs_refuse_parameters_instead_of_ignoring_them(new_org) -> None:
    response = new_org.editor.post("/api/v1/runs", json={"sql": "SELECT {{ x }}", "parameters": {"x": 1}})
    assert response.status_code == 422
    assert "parameters" in response.json()["error"]["message"]
