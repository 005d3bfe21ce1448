"""Liveness of the processes that run jobs and scripts (Celery workers), and failing the work of dead ones.

A worker process writes a heartbeat row under its runner's name (`JobRunner.worker_name`, which
the runner also records on every job it runs, `Job.worker`, and the script service on every script
run it executes, `ScriptRun.worker`). Every process of a deployment with the celery executor reaps:
a STARTED job or a `running` script run whose worker has not beaten for `lost_after` seconds fails
as `worker_lost`. The heartbeat is written by the worker's clock and read against the reaper's, so
hosts need synchronised clocks (NTP) well within `lost_after`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, literal, select, update

from openlytics.core.jobs.status import JobStatus
from openlytics.core.scripts import FAILURE as SCRIPT_FAILURE
from openlytics.core.scripts import RUNNING as SCRIPT_RUNNING
from openlytics.core.tasks import FAILURE as TASK_FAILURE
from openlytics.core.tasks import PENDING as TASK_PENDING
from openlytics.core.tasks import RUNNING as TASK_RUNNING
from openlytics.runtime.maintenance import Maintenance
from openlytics.store.db import Database
from openlytics.store.models import BackgroundTask, Job, ScriptRun, WorkerHeartbeat
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

WORKER_LOST = "worker_lost"
# Heartbeats of workers gone this long are deleted (their jobs were failed long before).
FORGET_AFTER = timedelta(days=1)


class Heartbeat:
    """The heartbeat row of one worker process."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name

    def beat(self) -> None:
        """Record that this worker is alive now (the row is created on the first beat)."""
        now = utcnow()
        with self.db.session() as s:
            updated = cast(
                CursorResult[Any],
                s.execute(
                    update(WorkerHeartbeat).where(WorkerHeartbeat.name == self.name).values(last_beat_at=now)
                ),
            ).rowcount
            if not updated:  # only this process writes its own name, so no insert races with it
                s.add(WorkerHeartbeat(name=self.name, last_beat_at=now, started_at=now))

    def forget(self) -> None:
        """Delete the row: the worker stopped cleanly, with no job left running."""
        with self.db.session() as s:
            s.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == self.name))


def fail_lost_jobs(db: Database, *, lost_after: float) -> list[int]:
    """Fail STARTED jobs whose worker has no heartbeat younger than `lost_after` s; their ids."""
    now = utcnow()
    cutoff = now - timedelta(seconds=lost_after)
    alive = exists(
        select(WorkerHeartbeat.id).where(
            WorkerHeartbeat.name == Job.worker, WorkerHeartbeat.last_beat_at >= cutoff
        )
    )
    message = (
        literal("the worker running this job stopped sending heartbeats (it was killed or cut off): ")
        + Job.worker
    )
    with db.session() as s:
        # One compare-and-set: a job that finished meanwhile is no longer STARTED and is left alone.
        failed = list(
            s.scalars(
                update(Job)
                .where(Job.status == int(JobStatus.STARTED), ~alive)
                .values(
                    status=int(JobStatus.FAILURE),
                    error=message,
                    error_code=WORKER_LOST,
                    finished_at=now,
                    updated_at=now,
                )
                .returning(Job.id)
            )
        )
        s.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_beat_at < now - FORGET_AFTER))
    return failed


def fail_lost_script_runs(db: Database, *, lost_after: float) -> list[int]:
    """Fail `running` script runs whose worker has no heartbeat younger than `lost_after` s; their ids.

    Runs no worker claimed yet (waiting in the queue) are left alone."""
    now = utcnow()
    alive = exists(
        select(WorkerHeartbeat.id).where(
            WorkerHeartbeat.name == ScriptRun.worker,
            WorkerHeartbeat.last_beat_at >= now - timedelta(seconds=lost_after),
        )
    )
    # The reason first, as in the other reasons a run fails for ("interrupted: ...").
    message = (
        literal(
            f"{WORKER_LOST}: the worker running this script stopped sending heartbeats "
            "(it was killed or cut off): "
        )
        + ScriptRun.worker
    )
    with db.session() as s:
        return list(
            s.scalars(
                update(ScriptRun)
                .where(ScriptRun.status == SCRIPT_RUNNING, ScriptRun.worker.is_not(None), ~alive)
                .values(status=SCRIPT_FAILURE, error=message, finished_at=now)
                .returning(ScriptRun.id)
            )
        )


def fail_lost_tasks(db: Database, *, lost_after: float) -> list[int]:
    """Fail unfinished background tasks whose process has no heartbeat younger than `lost_after` s."""
    now = utcnow()
    alive = exists(
        select(WorkerHeartbeat.id).where(
            WorkerHeartbeat.name == BackgroundTask.worker,
            WorkerHeartbeat.last_beat_at >= now - timedelta(seconds=lost_after),
        )
    )
    message = literal(f"{WORKER_LOST}: the process running this task stopped sending heartbeats: ") + (
        BackgroundTask.worker
    )
    with db.session() as s:
        return list(
            s.scalars(
                update(BackgroundTask)
                .where(
                    BackgroundTask.status.in_([TASK_PENDING, TASK_RUNNING]),
                    BackgroundTask.worker.is_not(None),
                    ~alive,
                )
                .values(status=TASK_FAILURE, error=message, finished_at=now)
                .returning(BackgroundTask.id)
            )
        )


class WorkerLiveness:
    """A thread that beats for this process (if it runs jobs) and fails jobs of lost workers."""

    def __init__(
        self,
        db: Database,
        *,
        interval: float,
        lost_after: float,
        on_failed: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.lost_after = lost_after
        self.on_failed = on_failed
        self.heartbeat: Heartbeat | None = None
        self._thread = Maintenance(self.tick, interval=interval, name="openlytics-liveness")

    def start(self, heartbeat_name: str | None = None) -> None:
        """Start reaping; with a name, also beat under it (once now, before any job is taken)."""
        if heartbeat_name is not None:
            self.heartbeat = Heartbeat(self.db, heartbeat_name)
            self.heartbeat.beat()
        self._thread.start()

    def tick(self) -> None:
        """Beat, then fail the jobs and script runs of workers that stopped beating."""
        if self.heartbeat is not None:
            self.heartbeat.beat()
        failed = fail_lost_jobs(self.db, lost_after=self.lost_after)
        if failed:
            log.warning("jobs %s failed: their worker stopped sending heartbeats", failed)
        for job_id in failed:
            if self.on_failed is not None:
                self.on_failed(job_id)
        if runs := fail_lost_script_runs(self.db, lost_after=self.lost_after):
            log.warning("script runs %s failed: their worker stopped sending heartbeats", runs)
        if tasks := fail_lost_tasks(self.db, lost_after=self.lost_after):
            log.warning("background tasks %s failed: their process stopped sending heartbeats", tasks)

    def stop(self) -> None:
        """Stop the thread and delete this process's heartbeat."""
        self._thread.stop()
        if self.heartbeat is not None:
            self.heartbeat.forget()
