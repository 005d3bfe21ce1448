"""Faults of a distributed deployment (docs/scale-out.md): the broker restarts, an API process dies,
a second API process shares sessions and keys. A cluster of two API processes (the in-process
server and an `openlytics serve` subprocess), one worker and a private Redis on a free port, which
these tests restart (never the machine's shared Redis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openlytics.core.jobs.status import JobStatus
from tests.runtime.celery_cluster import ADMIN_PASSWORD, ApiProcess, Cluster, PrivateRedis
from tests.runtime.test_celery_executor import finished_job, job_id_of, run, started_job, unique_tag

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """Redis with an append-only file, as deployed: queued messages survive a restart."""
    with PrivateRedis(tmp_path_factory.mktemp("redis"), persistent=True) as redis_server:
        yield redis_server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, broker: PrivateRedis) -> Iterator[Cluster]:
    cluster = Cluster.start(tmp_path_factory.mktemp("faults"), broker.url, workers=1)
    try:
        cluster.add_api_process()
        yield cluster
    finally:
        cluster.close()


def api_process(cluster: Cluster) -> ApiProcess:
    """The live `openlytics serve` process (a new one if a test killed it)."""
    alive = [a for a in cluster.api_processes if a.process.poll() is None]
    return alive[0] if alive else cluster.add_api_process()


def job_of(api: httpx.Client, job_id: int) -> dict[str, Any]:
    answer = api.get(f"/api/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def answer_of(api: httpx.Client, cluster: Cluster, sql: str) -> dict[str, Any]:
    """The first row of `sql`, run and waited for through `api`."""
    response = run(api, cluster, sql, wait=20)
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()["result"]["rows"][0]
    return row


# ----- sessions and keys ------------------------------------------------------------------------


def test_a_session_opened_on_one_api_process_works_on_the_other_until_logout(cluster: Cluster) -> None:
    other = api_process(cluster)
    login = httpx.post(
        f"{cluster.server.url}/api/v1/session",
        json={"email": cluster.settings.admin_email, "password": ADMIN_PASSWORD},
    )
    assert login.status_code == 200, login.text
    name = cluster.settings.session_cookie_name
    cookies = {name: login.cookies[name]}
    me = httpx.get(f"{other.url}/api/v1/me", cookies=cookies)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == cluster.settings.admin_email
    assert httpx.delete(f"{other.url}/api/v1/session", cookies=cookies).status_code == 204
    assert httpx.get(f"{cluster.server.url}/api/v1/me", cookies=cookies).status_code == 401
    assert httpx.get(f"{other.url}/api/v1/me", cookies=cookies).status_code == 401


def test_a_key_issued_on_one_api_process_and_revoked_there_is_refused_by_the_other(cluster: Cluster) -> None:
    other = api_process(cluster)
    with cluster.client(other.url) as there, cluster.client() as here:
        issued = there.post("/api/v1/api-keys", json={"name": unique_tag()})
        assert issued.status_code == 201, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['key']}"}
        assert httpx.get(f"{cluster.server.url}/api/v1/me", headers=headers).status_code == 200
        assert httpx.get(f"{other.url}/api/v1/me", headers=headers).status_code == 200
        assert here.delete(f"/api/v1/api-keys/{issued.json()['id']}").status_code == 204
    assert httpx.get(f"{other.url}/api/v1/me", headers=headers).status_code == 401
    assert httpx.get(f"{cluster.server.url}/api/v1/me", headers=headers).status_code == 401


# ----- an API process dies ----------------------------------------------------------------------


def test_a_client_polling_a_killed_api_process_gets_the_answer_from_the_other(cluster: Cluster) -> None:
    victim = api_process(cluster)
    tag = unique_tag()
    with cluster.client(victim.url) as api:
        job_id = job_id_of(run(api, cluster, f"SELECT pg_sleep(2), 7 AS n, '{tag}' AS t"))
        started = started_job(cluster, job_id)
        assert job_of(api, job_id)["status"] == JobStatus.STARTED
    victim.kill()
    with cluster.client(victim.url) as api, pytest.raises(httpx.TransportError):
        api.get(f"/api/v1/jobs/{job_id}")
    with cluster.client() as api:  # the client switches to the other API process
        job = finished_job(api, job_id)
        assert job["status"] == JobStatus.SUCCESS, job
        assert api.get(f"/api/v1/results/{job['result_id']}").json()["rows"][0]["n"] == 7
    assert cluster.job_row(job_id).worker == started.worker


# ----- the broker restarts ----------------------------------------------------------------------


def test_jobs_sent_before_a_redis_restart_finish_and_new_ones_run_after(
    cluster: Cluster, broker: PrivateRedis
) -> None:
    cluster.ensure_workers(1)
    worker = cluster.workers[0]
    other = api_process(cluster)
    tag = unique_tag()
    with cluster.client() as api:
        running = job_id_of(run(api, cluster, f"SELECT pg_sleep(2), 1 AS n, '{tag}' AS t"))
        started_job(cluster, running)
        queued = job_id_of(run(api, cluster, f"SELECT 2 AS n, '{tag}' AS t"))  # the worker is busy
        assert job_of(api, queued)["status"] == JobStatus.PENDING

        polled: list[str] = []
        stop = threading.Event()

        def poll() -> None:  # a client polling through the restart sees answers, not errors
            with cluster.client(other.url) as poller:
                while not stop.is_set():
                    try:
                        answer = poller.get(f"/api/v1/jobs/{running}")
                    except httpx.TransportError as exc:
                        polled.append(repr(exc))
                        continue
                    ok = answer.status_code == 200
                    polled.append(answer.json()["status"] if ok else f"HTTP {answer.status_code}")

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            broker.restart(down_seconds=0.5)
            assert finished_job(api, running)["status"] == JobStatus.SUCCESS
            assert finished_job(api, queued)["status"] == JobStatus.SUCCESS
        finally:
            stop.set()
            poller.join(timeout=10)
        assert polled and set(polled) <= {JobStatus.STARTED, JobStatus.SUCCESS}

        # Both API processes and the worker reconnect by themselves.
        assert answer_of(api, cluster, f"SELECT 3 AS n, '{tag}' AS t")["n"] == 3
    with cluster.client(other.url) as api:
        after = run(api, cluster, f"SELECT 4 AS n, '{tag}' AS t", wait=20)
        assert after.status_code == 200, after.text
    assert worker.process.poll() is None
    assert cluster.job_row(after.json()["job"]["id"]).worker == worker.name


def test_a_run_while_redis_is_down_fails_clearly_and_runs_again_once_it_is_back(
    cluster: Cluster, broker: PrivateRedis
) -> None:
    cluster.ensure_workers(1)
    tag = unique_tag()
    broker.stop()
    try:
        with cluster.client() as api:
            response = run(api, cluster, f"SELECT 5 AS n, '{tag}' AS t", wait=5)
            assert response.status_code >= 500, response.text
            assert response.json()["error"]["code"] == "broker_unavailable", response.text
    finally:
        broker.start()
    with cluster.client() as api:
        assert answer_of(api, cluster, f"SELECT 6 AS n, '{tag}' AS t")["n"] == 6
