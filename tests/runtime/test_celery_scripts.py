"""Script runs on Celery workers (docs/scale-out.md): the API records a run and sends its id to the
scripts queue; an `openlytics worker` claims it, runs the program in its sandbox with a key of the
script's owner and records the outcome. A live API server, worker subprocesses, PostgreSQL
metadata and Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import kombu
import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from openlytics.core.scripts import FAILURE, RUNNING, SUCCESS
from openlytics.runtime.celery_app import RUN_SCRIPT, celery_app
from openlytics.runtime.worker_liveness import WORKER_LOST, Heartbeat, fail_lost_script_runs
from openlytics.store.models import Organization, Script, ScriptRun
from openlytics.store.types import utcnow
from tests.runtime.celery_cluster import (
    Cluster,
    WorkerProcess,
    process_env,
    redis_database,
    start_worker,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)


@dataclass
class ScriptCluster(Cluster):
    """The cluster, with script runs sent to a queue of this test run that every worker consumes,
    and workers that call the API back on its address (OPENLYTICS_INTERNAL_URL)."""

    script_queue: str = field(default_factory=lambda: f"scripts-{uuid.uuid4().hex[:8]}")

    @classmethod
    def start_with_scripts(cls, root: Path, broker_url: str, *, workers: int) -> ScriptCluster:
        """The cluster whose API sends script runs to `script_queue`, and `workers` workers."""
        cluster = cls.start(root, broker_url, workers=0)
        assert isinstance(cluster, ScriptCluster)
        try:
            # The harness builds the server's settings itself: restart it with the script queue.
            cluster.settings = cluster.settings.model_copy(update={"script_queue": cluster.script_queue})
            cluster.restart_api()
            for _ in range(workers):
                cluster.add_worker()
        except BaseException:
            cluster.close()
            raise
        return cluster

    def add_worker(self, queue: str | None = None, concurrency: int = 1) -> WorkerProcess:
        """A worker on the cluster's query queue (or `queue`) and its script queue."""
        env = process_env(
            self.broker_url, self.pg.url, script_queue=self.script_queue, internal_url=self.server.url
        )
        worker = start_worker(
            env,
            self.settings.data_dir,
            self.root / f"worker-{len(self.workers)}.log",
            queues=f"{queue or self.queue},{self.script_queue}",
            concurrency=concurrency,
            broker_url=self.broker_url,
        )
        self.workers.append(worker)
        return worker

    def run_row(self, run_id: int) -> sa.Row[Any]:
        """The script run as stored (the API does not show `worker`)."""
        with self.metadata() as conn:
            return conn.execute(
                sa.text("SELECT status, worker, error, stdout, finished_at FROM script_runs WHERE id = :id"),
                {"id": run_id},
            ).one()

    def kill_orphaned_programs(self) -> None:
        """SIGKILL the sandboxes that killed workers of this cluster left running (the program
        outlives its worker's kill -9: docs/scale-out.md), found by this cluster's data directory."""
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == 1 and "_sandbox_boot.py" in cmdline and str(self.settings.data_dir) in cmdline:
                    os.kill(int(proc.name), signal.SIGKILL)

    def close(self) -> None:
        super().close()
        with contextlib.suppress(Exception), kombu.Connection(self.broker_url) as broker:
            broker.default_channel.queue_delete(self.script_queue)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptCluster]:
    """An API server and two single-threaded workers on a Redis database of their own."""
    with redis_database() as broker_url:
        cluster = ScriptCluster.start_with_scripts(
            tmp_path_factory.mktemp("celery-scripts"), broker_url, workers=2
        )
        try:
            yield cluster
        finally:
            cluster.close()


@pytest.fixture
def api(cluster: ScriptCluster) -> Iterator[httpx.Client]:
    with cluster.client() as client:
        yield client


def create(api: httpx.Client, code: str) -> dict[str, Any]:
    body = {"name": f"script-{uuid.uuid4().hex[:8]}", "code": textwrap.dedent(code)}
    response = api.post("/api/v1/scripts", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def start(api: httpx.Client, script: dict[str, Any], parameters: dict[str, Any] | None = None) -> int:
    response = api.post(f"/api/v1/scripts/{script['id']}/runs", json={"parameters": parameters or {}})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == RUNNING
    return int(response.json()["id"])


def finished_run(
    api: httpx.Client, script: dict[str, Any], run_id: int, timeout: float = 60
) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        runs = api.get(f"/api/v1/scripts/{script['id']}/runs", params={"limit": 100}).json()["items"]
        run: dict[str, Any] = next(r for r in runs if r["id"] == run_id)
        return run if run["status"] != RUNNING else None

    result: dict[str, Any] = wait_for(f"script run {run_id} to finish", finished, timeout=timeout)
    return result


def claimed(cluster: ScriptCluster, run_id: int) -> Any:
    """Wait until a worker claimed the run; its row."""
    return wait_for(f"script run {run_id} to be claimed", lambda: (r := cluster.run_row(run_id)).worker and r)


# ----- on the workers --------------------------------------------------------------------------


def test_a_script_runs_on_a_worker_with_parameters_output_storage_and_a_call_back(
    cluster: ScriptCluster, api: httpx.Client
) -> None:
    name = f"saved-{uuid.uuid4().hex[:8]}"
    saved = api.post(
        "/api/v1/queries", json={"name": name, "sql": "SELECT 1", "data_source_id": cluster.source_id}
    )
    assert saved.status_code == 201, saved.text
    script = create(
        api,
        """
        import json, os
        from openlytics.client import Client
        params = json.load(open("params.json"))
        with Client() as client:
            names = sorted(q.name for q in client.queries.list(q=params["name"]))
            client.scripts.set_storage(params["me"], json.dumps({"seen": names}))
        print(params["a"] + params["b"], names, os.environ["OPENLYTICS_URL"])
        """,
    )
    response = api.post(
        f"/api/v1/scripts/{script['id']}/runs",
        json={"parameters": {"a": 40, "b": 2, "name": name, "me": script["uuid"]}, "wait": True},
    )
    assert response.status_code == 200, response.text  # `wait` follows the run on the worker
    run = response.json()
    assert run["status"] == SUCCESS, run
    assert run["stdout"] == f"42 ['{name}'] {cluster.server.url}\n"
    assert run["parameters"]["a"] == 40
    assert cluster.run_row(run["id"]).worker in {w.name for w in cluster.workers}
    stored = api.get(f"/api/v1/scripts/{script['id']}/storage")
    assert stored.json() == {"seen": [name]}


def test_a_failing_script_records_stderr_and_failure(cluster: ScriptCluster, api: httpx.Client) -> None:
    script = create(api, "import sys\nprint('half way')\nraise SystemExit('it broke')\n")
    run_id = start(api, script)
    run = finished_run(api, script, run_id)
    assert (run["status"], run["return_code"]) == (FAILURE, 1), run
    assert run["stdout"] == "half way\n" and run["stderr"] == "it broke\n"
    assert run["error"] == "exited with code 1"
    assert cluster.run_row(run_id).worker in {w.name for w in cluster.workers}


def test_a_redelivered_message_of_a_finished_run_does_nothing(
    cluster: ScriptCluster, api: httpx.Client
) -> None:
    script = create(api, "print('once')")
    run_id = start(api, script)
    first = finished_run(api, script, run_id)
    assert first["status"] == SUCCESS
    before = cluster.run_row(run_id)
    app = celery_app(cluster.settings)
    try:
        app.send_task(RUN_SCRIPT, args=[run_id], queue=cluster.script_queue)
    finally:
        app.close()
    notice = f"script run {run_id} is finished or claimed elsewhere"
    wait_for("a worker to drop the message", lambda: any(notice in w.log() for w in cluster.workers))
    assert cluster.run_row(run_id) == before


def test_a_killed_worker_fails_its_script_run_as_worker_lost(
    cluster: ScriptCluster, api: httpx.Client, request: pytest.FixtureRequest
) -> None:
    cluster.ensure_workers(2)
    script = create(api, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    request.addfinalizer(cluster.kill_orphaned_programs)
    run_id = start(api, script)
    worker_name = claimed(cluster, run_id).worker
    victim = next(w for w in cluster.workers if w.name == worker_name)
    time.sleep(0.5)  # let the sandbox start the program
    victim.kill()
    statuses: list[str] = []

    def lost() -> dict[str, Any] | None:
        runs = api.get(f"/api/v1/scripts/{script['id']}/runs").json()["items"]
        run: dict[str, Any] = next(r for r in runs if r["id"] == run_id)
        statuses.append(run["status"])
        return run if run["status"] != RUNNING else None

    run = wait_for("the lost run to fail", lost, timeout=20)
    assert run["status"] == FAILURE, run
    assert run["error"].startswith(f"{WORKER_LOST}: ") and worker_name in run["error"]
    assert set(statuses) <= {RUNNING, FAILURE}
    assert api.get(f"/api/v1/scripts/{script['id']}/state").json() == {"running": False}
    # The other worker takes the next run.
    survivor = next(w for w in cluster.workers if w is not victim)
    quick = create(api, "print('next')")
    after = api.post(f"/api/v1/scripts/{quick['id']}/runs", json={"wait": True})
    assert after.status_code == 200 and after.json()["stdout"] == "next\n", after.text
    assert cluster.run_row(after.json()["id"]).worker == survivor.name


def test_sigterm_kills_the_workers_script_and_fails_its_run_as_interrupted(
    cluster: ScriptCluster, api: httpx.Client
) -> None:
    cluster.ensure_workers(2)
    script = create(api, "import time\ntime.sleep(60)\n")
    run_id = start(api, script)
    worker_name = claimed(cluster, run_id).worker
    worker = next(w for w in cluster.workers if w.name == worker_name)
    time.sleep(0.5)  # let the sandbox start the program
    begun = time.monotonic()
    assert worker.stop(timeout=20) == 0, worker.log()
    assert time.monotonic() - begun < 10  # not the script's 60 s
    run = finished_run(api, script, run_id, timeout=5)
    assert run["status"] == FAILURE and run["error"].startswith("interrupted: "), run


def test_an_api_restart_leaves_script_runs_on_workers_alone(cluster: ScriptCluster) -> None:
    cluster.ensure_workers(2)
    with cluster.client() as api:
        script = create(api, "import time\ntime.sleep(3)\nprint('survived')\n")
        run_id = start(api, script)
    worker_name = claimed(cluster, run_id).worker
    cluster.restart_api()
    assert cluster.run_row(run_id).status == RUNNING  # not failed as "interrupted"
    with cluster.client() as api:
        run = finished_run(api, script, run_id)
    assert (run["status"], run["stdout"]) == (SUCCESS, "survived\n"), run
    assert cluster.run_row(run_id).worker == worker_name


# ----- claims, the reaper and recovery in the store ---------------------------------------------


def org_id(core: Openlytics) -> int:
    with core.db.session() as s:
        return int(s.scalars(sa.select(Organization.id)).one())


def add_run(core: Openlytics, status: str, worker: str | None) -> int:
    with core.db.session() as s:
        script = s.scalars(sa.select(Script)).first()
        if script is None:
            script = Script(org_id=org_id(core), name="s", code="print(1)", kind="python")
            s.add(script)
            s.flush()
        run = ScriptRun(
            org_id=script.org_id, script_id=script.id, status=status, worker=worker, started_at=utcnow()
        )
        s.add(run)
        s.flush()
        return run.id


def run_states(core: Openlytics, *ids: int) -> list[tuple[str, str | None]]:
    with core.db.session() as s:
        runs = [s.get_one(ScriptRun, i) for i in ids]
        return [(r.status, r.worker) for r in runs]


def test_reaper_fails_only_running_script_runs_of_silent_workers(core: Openlytics) -> None:
    Heartbeat(core.db, "alive:1").beat()
    Heartbeat(core.db, "silent:2").beat()
    time.sleep(1.2)
    Heartbeat(core.db, "alive:1").beat()
    alive = add_run(core, RUNNING, "alive:1")
    silent = add_run(core, RUNNING, "silent:2")
    unknown = add_run(core, RUNNING, "gone:3")
    queued = add_run(core, RUNNING, None)  # waiting for a worker: nobody to be lost
    done = add_run(core, SUCCESS, "gone:3")
    assert sorted(fail_lost_script_runs(core.db, lost_after=1.0)) == sorted([silent, unknown])
    assert [status for status, _ in run_states(core, alive, silent, unknown, queued, done)] == [
        RUNNING,
        FAILURE,
        FAILURE,
        RUNNING,
        SUCCESS,
    ]
    with core.db.session() as s:
        error = s.get_one(ScriptRun, silent).error
    assert error is not None and error.startswith("worker_lost: ") and error.endswith("silent:2")
    assert fail_lost_script_runs(core.db, lost_after=1.0) == []


def test_a_run_is_executed_once_by_the_process_that_claims_it(core: Openlytics) -> None:
    run_id = add_run(core, RUNNING, None)
    other = add_run(core, RUNNING, "elsewhere:9")
    finished = add_run(core, SUCCESS, None)
    assert core.scripts.execute(run_id) is True
    assert run_states(core, run_id) == [(SUCCESS, core.runner.worker_name)]
    assert core.scripts.execute(run_id) is False  # redelivered
    assert core.scripts.execute(other) is False  # claimed by another worker
    assert core.scripts.execute(finished) is False
    assert run_states(core, other, finished) == [(RUNNING, "elsewhere:9"), (SUCCESS, None)]


def test_recovery_for_a_worker_name_fails_only_that_workers_runs_and_resends_waiting_ones(
    core: Openlytics,
) -> None:
    sent: list[int] = []
    core.scripts.dispatch = sent.append
    mine = add_run(core, RUNNING, core.runner.worker_name)
    theirs = add_run(core, RUNNING, "elsewhere:9")
    waiting = add_run(core, RUNNING, None)
    assert core.scripts.recover_after_restart(worker=core.runner.worker_name) == 1
    assert run_states(core, mine, theirs, waiting) == [
        (FAILURE, core.runner.worker_name),
        (RUNNING, "elsewhere:9"),
        (RUNNING, None),
    ]
    assert sent == [waiting]
    # Without a name (the local executor) every running run is a leftover of this deployment's past.
    core.scripts.dispatch = None
    assert core.scripts.recover_after_restart() == 2
    assert [status for status, _ in run_states(core, theirs, waiting)] == [FAILURE, FAILURE]


def test_a_run_that_cannot_be_sent_fails_at_once(core: Openlytics) -> None:
    def unreachable(run_id: int) -> None:
        raise ConnectionError("broker down")

    core.scripts.dispatch = unreachable
    principal = Principal.system(org_id(core))
    script = core.scripts.create(principal, name="unsent", code="print(1)")
    run = core.scripts.run(principal, script.id)  # answered as it is stored: failed
    assert run.status == FAILURE
    assert run.error == "the run could not be sent to the workers: broker down"
