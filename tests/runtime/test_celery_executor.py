"""Query jobs on Celery workers (docs/scale-out.md): a live API server with the celery executor,
`openlytics worker` subprocesses, PostgreSQL metadata and a PostgreSQL data source, Redis (and
once RabbitMQ) as the broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.jobs.status import JobStatus
from openlytics.runtime.celery_app import celery_app
from openlytics.runtime.celery_executor import CeleryExecutor
from openlytics.runtime.worker_liveness import Heartbeat, fail_lost_jobs
from openlytics.store.models import DataSource, Job
from openlytics.store.types import utcnow
from tests.runtime.celery_cluster import RABBITMQ_URL, Cluster, module_cluster, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """An API server and two single-threaded workers on a Redis database of their own."""
    yield from module_cluster(tmp_path_factory.mktemp("celery"), workers=2)


@pytest.fixture
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    with cluster.client() as client:
        yield client


def run(api: httpx.Client, cluster: Cluster, sql: str, *, wait: float = 0) -> httpx.Response:
    return api.post("/api/v1/runs", json={"sql": sql, "data_source_id": cluster.source_id, "wait": wait})


def job_id_of(response: httpx.Response) -> int:
    assert response.status_code in (200, 202), response.text
    return int(response.json()["job"]["id"])


def finished_job(api: httpx.Client, job_id: int, timeout: float = 30) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = api.get(f"/api/v1/jobs/{job_id}").json()
        return job if JobStatus(job["status"]).finished else None

    result: dict[str, Any] = wait_for(f"job {job_id} to finish", finished, timeout=timeout)
    return result


def started_job(cluster: Cluster, job_id: int) -> Any:
    """Wait until the job is STARTED on a worker and its statement runs in PostgreSQL."""
    row = wait_for(
        f"job {job_id} to start",
        lambda: (r := cluster.job_row(job_id)).status == JobStatus.STARTED and r,
        timeout=20,
    )
    wait_for(f"statement of job {job_id} to run", cluster.active_statements, timeout=10)
    return row


def unique_tag() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


# ----- on the workers --------------------------------------------------------------------------


def test_a_run_with_wait_answers_with_the_rows_a_worker_computed(cluster: Cluster, api: httpx.Client) -> None:
    tag = unique_tag()
    response = run(api, cluster, f"SELECT n, '{tag}' AS tag FROM generate_series(1, 500) AS n", wait=20)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["row_count"] == 500
    assert [row["n"] for row in body["result"]["rows"]][:3] == [1, 2, 3]
    job = cluster.job_row(body["job"]["id"])
    assert job.status == JobStatus.SUCCESS
    assert job.worker in {w.name for w in cluster.workers}


def test_a_polled_run_of_many_rows_is_computed_on_a_worker(cluster: Cluster, api: httpx.Client) -> None:
    response = run(api, cluster, "SELECT n, pg_sleep(0) AS s FROM generate_series(1, 100000) AS n")
    job_id = job_id_of(response)
    job = finished_job(api, job_id)
    assert job["status"] == JobStatus.SUCCESS, job
    assert cluster.job_row(job_id).worker in {w.name for w in cluster.workers}
    result = api.get(f"/api/v1/results/{job['result_id']}").json()
    assert result["row_count"] == 100000
    data = api.get(f"/api/v1/results/{job['result_id']}/data", params={"format": "csv"})
    assert data.status_code == 200
    lines = data.text.splitlines()
    assert len(lines) == 100001 and lines[1].startswith("1,")


def test_two_slow_queries_run_on_two_workers_at_once(cluster: Cluster, api: httpx.Client) -> None:
    cluster.ensure_workers(2)
    tag = unique_tag()
    ids = [job_id_of(run(api, cluster, f"SELECT pg_sleep(1.5), {i} AS n, '{tag}' AS t")) for i in (1, 2)]
    jobs = [finished_job(api, job_id) for job_id in ids]
    assert [j["status"] for j in jobs] == [JobStatus.SUCCESS, JobStatus.SUCCESS], jobs
    rows = [cluster.job_row(job_id) for job_id in ids]
    assert rows[0].worker != rows[1].worker
    assert {r.worker for r in rows} <= {w.name for w in cluster.workers}
    # Each started before the other finished: they ran side by side.
    assert rows[0].started_at < rows[1].finished_at and rows[1].started_at < rows[0].finished_at


def test_cancel_interrupts_the_statement_on_its_worker(cluster: Cluster, api: httpx.Client) -> None:
    tag = unique_tag()
    job_id = job_id_of(run(api, cluster, f"SELECT pg_sleep(60), '{tag}' AS t"))
    try:
        started_job(cluster, job_id)
        cancelled = api.post(f"/api/v1/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        job = finished_job(api, job_id, timeout=10)
        assert job["status"] == JobStatus.CANCELLED, job
        assert job["error_code"] == "query_cancelled"
        wait_for("the statement to end", lambda: cluster.active_statements() == 0, timeout=5)
    finally:
        cluster.terminate_statements()


def test_api_restart_leaves_jobs_running_on_workers_alone(cluster: Cluster) -> None:
    tag = unique_tag()
    with cluster.client() as api:
        job_id = job_id_of(run(api, cluster, f"SELECT pg_sleep(3), 7 AS n, '{tag}' AS t"))
    started = started_job(cluster, job_id)
    cluster.restart_api()
    assert cluster.job_row(job_id).status == JobStatus.STARTED  # not failed as "interrupted"
    with cluster.client() as api:
        job = finished_job(api, job_id)
        assert job["status"] == JobStatus.SUCCESS, job
        assert api.get(f"/api/v1/results/{job['result_id']}").json()["rows"][0]["n"] == 7
    assert cluster.job_row(job_id).worker == started.worker


def test_a_killed_worker_fails_its_job_as_lost_and_the_other_takes_the_next(cluster: Cluster) -> None:
    cluster.ensure_workers(2)
    tag = unique_tag()
    try:
        with cluster.client() as api:
            job_id = job_id_of(run(api, cluster, f"SELECT pg_sleep(60), '{tag}' AS t"))
            started = started_job(cluster, job_id)
            victim = next(w for w in cluster.workers if w.name == started.worker)
            survivor = next(w for w in cluster.workers if w is not victim)
            victim.kill()
            statuses = []

            def lost() -> dict[str, Any] | None:
                job: dict[str, Any] = api.get(f"/api/v1/jobs/{job_id}").json()
                statuses.append(job["status"])
                return job if job["status"] != JobStatus.STARTED else None

            job = wait_for("the lost job to fail", lost, timeout=20)
            assert job["status"] == JobStatus.FAILURE, job
            assert job["error_code"] == "worker_lost"
            assert started.worker in job["error"]
            assert set(statuses) <= {JobStatus.STARTED, JobStatus.FAILURE}

            after = run(api, cluster, f"SELECT 42 AS answer, '{tag}-after' AS t", wait=20)
            assert after.status_code == 200, after.text
            assert after.json()["result"]["rows"][0]["answer"] == 42
            assert cluster.job_row(after.json()["job"]["id"]).worker == survivor.name
            assert finished_job(api, job_id)["status"] == JobStatus.FAILURE  # and it stays failed
    finally:
        cluster.terminate_statements()


def test_sigterm_interrupts_the_workers_job_and_the_worker_exits_cleanly(cluster: Cluster) -> None:
    queue = f"{cluster.queue}-solo"
    source_id = cluster.add_source(f"solo-{unique_tag()}", queue)
    worker = cluster.add_worker(queue)
    assert worker.name in heartbeats(cluster)
    with cluster.client() as api:
        response = api.post("/api/v1/runs", json={"sql": "SELECT pg_sleep(60)", "data_source_id": source_id})
        job_id = job_id_of(response)
        assert started_job(cluster, job_id).worker == worker.name
        assert worker.stop(timeout=20) == 0, worker.log()
        job = finished_job(api, job_id, timeout=5)
    assert (job["status"], job["error_code"]) == (JobStatus.FAILURE, "interrupted")
    assert cluster.active_statements() == 0
    assert worker.name not in heartbeats(cluster)


def heartbeats(cluster: Cluster) -> set[str]:
    with cluster.metadata() as conn:
        return set(conn.execute(sa.text("SELECT name FROM worker_heartbeats")).scalars())


# ----- RabbitMQ --------------------------------------------------------------------------------


def test_a_run_through_rabbitmq_is_computed_on_a_worker(tmp_path: Path) -> None:
    cluster = Cluster.start(tmp_path, RABBITMQ_URL, workers=1)
    try:
        with cluster.client() as api:
            response = run(api, cluster, "SELECT n FROM generate_series(1, 10) AS n", wait=20)
            assert response.status_code == 200, response.text
            assert [r["n"] for r in response.json()["result"]["rows"]] == list(range(1, 11))
            assert cluster.job_row(response.json()["job"]["id"]).worker == cluster.workers[0].name
    finally:
        cluster.close()


# ----- liveness and recovery in the store -------------------------------------------------------


def add_job(core: Openlytics, status: JobStatus, worker: str | None) -> int:
    with core.db.session() as s:
        source = s.scalars(sa.select(DataSource)).first()
        assert source is not None
        job = Job(
            org_id=source.org_id,
            data_source_id=source.id,
            query_hash=uuid.uuid4().hex,
            sql_text="SELECT 1",
            parameters={},
            status=int(status),
            worker=worker,
            started_at=utcnow(),
        )
        s.add(job)
        s.flush()
        return job.id


def statuses(core: Openlytics, *ids: int) -> list[tuple[int, str | None]]:
    with core.db.session() as s:
        jobs = [s.get(Job, i) for i in ids]
        return [(j.status, j.error_code) for j in jobs if j is not None]


def test_reaper_fails_only_started_jobs_of_silent_workers(core: Openlytics) -> None:
    Heartbeat(core.db, "alive:1").beat()
    Heartbeat(core.db, "silent:2").beat()
    time.sleep(1.2)
    Heartbeat(core.db, "alive:1").beat()
    alive = add_job(core, JobStatus.STARTED, "alive:1")
    silent = add_job(core, JobStatus.STARTED, "silent:2")
    unknown = add_job(core, JobStatus.STARTED, "gone:3")
    pending = add_job(core, JobStatus.PENDING, None)
    done = add_job(core, JobStatus.SUCCESS, "gone:3")
    failed = fail_lost_jobs(core.db, lost_after=1.0)
    assert sorted(failed) == sorted([silent, unknown])
    assert statuses(core, alive, silent, unknown, pending, done) == [
        (JobStatus.STARTED, None),
        (JobStatus.FAILURE, "worker_lost"),
        (JobStatus.FAILURE, "worker_lost"),
        (JobStatus.PENDING, None),
        (JobStatus.SUCCESS, None),
    ]
    assert fail_lost_jobs(core.db, lost_after=1.0) == []  # a failed job is not touched again


def test_recovery_for_a_worker_name_fails_only_that_workers_jobs(core: Openlytics) -> None:
    mine = add_job(core, JobStatus.STARTED, core.runner.worker_name)
    theirs = add_job(core, JobStatus.STARTED, "elsewhere:9")
    failed, resubmitted = core.jobs.recover_after_restart(worker=core.runner.worker_name, resubmit=False)
    assert (failed, resubmitted) == (1, 0)
    assert statuses(core, mine, theirs) == [(JobStatus.FAILURE, "interrupted"), (JobStatus.STARTED, None)]
    # Without a name (the local executor) every STARTED job is a leftover of this deployment's past.
    assert core.jobs.recover_after_restart()[0] == 1
    assert statuses(core, theirs) == [(JobStatus.FAILURE, "interrupted")]


def test_a_job_that_cannot_reach_the_broker_fails_instead_of_waiting_forever(core: Openlytics) -> None:
    settings = core.settings.model_copy(update={"executor": "celery", "broker_url": "redis://127.0.0.1:1/0"})
    executor = CeleryExecutor(celery_app(settings), core.db)
    try:
        job_id = add_job(core, JobStatus.PENDING, None)
        executor.submit(job_id)
        assert statuses(core, job_id) == [(JobStatus.FAILURE, "broker_unavailable")]
        executor.cancel(job_id)  # logged, not raised
    finally:
        executor.shutdown()
