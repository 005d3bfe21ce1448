"""`openlytics scheduler` as its own processes: one leads, a `kill -9` of the leader hands over, and
every due time fires exactly once (PostgreSQL metadata, real subprocesses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from openlytics.settings import Settings
from tests.conftest import POSTGRES_URL, FreshPostgresDatabase

pytestmark = pytest.mark.postgres


@pytest.fixture
def metadata(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A migrated PostgreSQL metadata store with a saved query refreshed every second."""
    fresh = FreshPostgresDatabase.create("schedproc")
    data_dir = tmp_path / "data"
    app = Openlytics(Settings(data_dir=data_dir, database_url=fresh.url, scheduler_enabled=False))
    app.start()
    try:
        org_id = app.identity.organizations()[0].id
        admin = Principal.system(org_id)
        source = app.sources.create(admin, name="pg", url=POSTGRES_URL)
        query = app.queries.create(admin, name="tick", sql="SELECT 1 AS one", data_source_id=source.id)
        app.schedules.create(admin, kind="query_refresh", target_id=query.id, interval_seconds=1)
    finally:
        app.stop()
    try:
        yield fresh.url, data_dir
    finally:
        fresh.drop()


def start_scheduler(url: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OPENLYTICS_DATABASE_URL": url,
        "OPENLYTICS_DATA_DIR": str(data_dir),
        "OPENLYTICS_SCHEDULER_POLL_SECONDS": "0.2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "openlytics.cli.main", "scheduler", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "scheduler is running" in line, line
    return process


def fired(url: str) -> list[tuple[str, str | None, int | None]]:
    """(due time, the worker that ran the job, job status) of every automatic run."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT r.due_at, j.worker, j.status FROM schedule_runs r "
                    "LEFT JOIN jobs j ON j.id = r.job_id WHERE NOT r.manual ORDER BY r.due_at"
                )
            ).all()
    finally:
        engine.dispose()
    return [(str(due), worker, status) for due, worker, status in rows]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def pid_of(worker: str | None) -> int | None:
    return int(worker.rsplit(":", 1)[1]) if worker else None


def test_two_scheduler_processes_fire_each_due_time_once_and_survive_the_leaders_death(
    metadata: tuple[str, Path],
) -> None:
    url, data_dir = metadata
    first = start_scheduler(url, data_dir)
    second = start_scheduler(url, data_dir)
    processes = {first.pid: first, second.pid: second}
    try:
        wait_for(lambda: sum(1 for _, worker, _ in fired(url) if worker) >= 3)
        leaders = {pid_of(worker) for _, worker, _ in fired(url) if worker}
        assert len(leaders) == 1, f"only the leader fires, got jobs from {leaders}"
        leader = leaders.pop()
        assert leader in processes
        before = len(fired(url))
        os.kill(leader, signal.SIGKILL)
        processes[leader].wait(timeout=10)
        follower = next(pid for pid in processes if pid != leader)

        def follower_fired() -> bool:
            return sum(1 for _, worker, _ in fired(url)[before:] if pid_of(worker) == follower) >= 3

        wait_for(follower_fired)
        runs = fired(url)
        duplicates = [due for due, n in Counter(due for due, _, _ in runs).items() if n > 1]
        assert duplicates == [], "a due time fired twice"
        assert {pid_of(worker) for _, worker, _ in runs if worker} <= {leader, follower}
        finished = [status for _, worker, status in runs if pid_of(worker) == follower]
        assert 3 in finished, "the follower's refreshes succeed"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_scheduler_stops_cleanly_on_sigterm(metadata: tuple[str, Path]) -> None:
    url, data_dir = metadata
    process = start_scheduler(url, data_dir)
    wait_for(lambda: len(fired(url)) >= 1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
