"""Several processes on one PostgreSQL store with the local executor (`serve --workers N`, servers
behind a load balancer): a process starting up must not fail the jobs its siblings are running."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.jobs.status import JobStatus
from openlytics.core.principal import Principal
from openlytics.settings import Settings
from openlytics.store.models import Job, WorkerHeartbeat
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.postgres


def _app(data_dir: Path, url: str) -> Openlytics:
    return Openlytics(Settings(data_dir=data_dir, database_url=url, scheduler_enabled=False))


def _status(app: Openlytics, job_id: int) -> int:
    with app.db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job.status


def test_a_starting_process_leaves_a_siblings_running_job_alone(tmp_path: Path, postgres_url: str) -> None:
    first = _app(tmp_path / "a", postgres_url)
    first.start()
    try:
        admin = Principal.system(first.identity.organizations()[0].id)
        source = first.sources.create(admin, name=f"pg-{time.monotonic_ns()}", url=POSTGRES_URL)
        outcome = first.jobs.run_adhoc(admin, "SELECT pg_sleep(120)", data_source_id=source.id, max_age=0)
        assert outcome.job is not None
        job_id = outcome.job.id
        deadline = time.monotonic() + 20
        while _status(first, job_id) != JobStatus.STARTED:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with first.db.session() as s:
            beats = s.scalars(sa.select(WorkerHeartbeat.name)).all()
        assert first.runner.worker_name in beats, "a process running jobs on a shared store beats"
        # Another process starts on the same store (its own pid, so its own worker name).
        program = (
            "import sys; from pathlib import Path; from openlytics.app import Openlytics; "
            "from openlytics.settings import Settings; "
            "app = Openlytics(Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2], "
            "scheduler_enabled=False)); app.start(); app.stop()"
        )
        started = subprocess.run(
            [sys.executable, "-c", program, str(tmp_path / "b"), postgres_url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stderr
        # However long the sibling took to start, the job still runs here: it was not failed.
        assert _status(first, job_id) == JobStatus.STARTED, "the sibling's job is not failed"
        first.jobs.cancel(admin, job_id)
        deadline = time.monotonic() + 30
        while _status(first, job_id) == JobStatus.STARTED:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert _status(first, job_id) == JobStatus.CANCELLED
    finally:
        first.stop()


def test_background_tasks_of_live_siblings_survive_and_lost_ones_are_reaped(
    tmp_path: Path, postgres_url: str
) -> None:
    from datetime import timedelta

    from openlytics.runtime.worker_liveness import fail_lost_tasks
    from openlytics.store.models import BackgroundTask
    from openlytics.store.types import utcnow

    app = _app(tmp_path / "a", postgres_url)
    app.start()
    try:
        org_id = app.identity.organizations()[0].id
        with app.db.session() as s:
            s.add(WorkerHeartbeat(name="sibling:1", last_beat_at=utcnow(), started_at=utcnow()))
            old = utcnow() - timedelta(minutes=5)
            s.add(WorkerHeartbeat(name="gone:2", last_beat_at=old, started_at=old))
            for worker in ("sibling:1", "gone:2", app.tasks.worker_name):
                s.add(BackgroundTask(org_id=org_id, kind="dataset_load", status="running", worker=worker))
        # A restart of this process fails its own leftovers only.
        assert app.tasks.recover_after_restart(worker=app.tasks.worker_name) == 1
        lost = fail_lost_tasks(app.db, lost_after=30)
        with app.db.session() as s:
            states = {t.worker: (t.status, t.error) for t in s.scalars(sa.select(BackgroundTask))}
        assert len(lost) == 1
        assert states["sibling:1"] == ("running", None)
        assert states["gone:2"][0] == "failure" and "worker_lost" in (states["gone:2"][1] or "")
        assert states[app.tasks.worker_name][0] == "failure"
    finally:
        app.stop()


def test_a_script_run_queued_in_a_dead_processs_pool_is_reaped_not_stuck(
    tmp_path: Path, postgres_url: str
) -> None:
    from datetime import timedelta

    from openlytics.runtime.worker_liveness import fail_lost_script_runs
    from openlytics.store.models import ScriptRun
    from openlytics.store.types import utcnow

    app = _app(tmp_path / "a", postgres_url)
    app.start()
    try:
        principal = Principal.system(app.identity.organizations()[0].id)
        script = app.scripts.create(principal, name=f"s{time.monotonic_ns()}", code="print('hi')")
        run = app.scripts.run(principal, script.id)
        assert run.worker == app.scripts.worker_name, "the local pool's runs are this process's at once"
        finished = app.scripts.run(principal, script.id, wait=True)
        assert finished.status == "success" and finished.worker == app.scripts.worker_name
        # A process that died with a run still queued in its pool: the run never started.
        with app.db.session() as s:
            old = utcnow() - timedelta(minutes=5)
            s.add(WorkerHeartbeat(name="gone:3", last_beat_at=old, started_at=old))
            queued = ScriptRun(
                org_id=principal.org_id, script_id=script.id, status="running", parameters={}, worker="gone:3"
            )
            s.add(queued)
            s.flush()
            queued_id = queued.id
        assert queued_id in fail_lost_script_runs(app.db, lost_after=30)
    finally:
        app.stop()
