"""The distributed executor: jobs go through the broker to `openlytics worker` processes.

A job's message goes to the queue named in its data source's `options["queue"]` (default
`queries`); a cancel is broadcast to every worker and the one running the job interrupts it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from openlytics.core.jobs.dispatcher import JobContext
from openlytics.core.jobs.status import JobStatus
from openlytics.runtime.celery_app import CANCEL_JOB, DEFAULT_QUEUE, RUN_JOB, OpenlyticsCelery
from openlytics.runtime.executor import Executor
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Job
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

BROKER_UNAVAILABLE = "broker_unavailable"


class CeleryExecutor(Executor):
    """Sends jobs to Celery workers and broadcasts cancellations to them."""

    def __init__(self, app: OpenlyticsCelery, db: Database) -> None:
        self.app = app
        self.db = db

    def submit(self, job_id: int, context: JobContext | None = None) -> None:
        """Send the job to its source's queue (a job that cannot be sent fails at once)."""
        queue = self._queue(job_id, context)
        try:
            self.app.send_task(RUN_JOB, args=[job_id], queue=queue)
        except Exception as exc:  # kombu raises many kinds; a job nobody will run must not stay PENDING
            log.exception("job %s could not be sent to queue %s", job_id, queue)
            self._fail_unsent(job_id, f"the job could not be sent to the broker: {exc}")

    def cancel(self, job_id: int) -> None:
        """Ask every worker to interrupt the job (a PENDING job's row is already CANCELLED)."""
        try:
            self.app.control.broadcast(CANCEL_JOB, arguments={"job_id": job_id}, reply=False)
        except Exception:  # the caller sees the job still running; the job's time limit still holds
            log.exception("cancel of job %s could not be sent to the workers", job_id)

    def shutdown(self, wait: bool = True) -> None:
        """Close the broker connections (jobs keep running on the workers)."""
        self.app.close()

    def _queue(self, job_id: int, context: JobContext | None) -> str:
        if context is not None:
            options = context.source.options or {}
        else:
            with self.db.session() as s:
                options = (
                    s.scalar(
                        select(DataSource.options)
                        .join(Job, Job.data_source_id == DataSource.id)
                        .where(Job.id == job_id)
                    )
                    or {}
                )
        return str(options.get("queue") or DEFAULT_QUEUE)

    def _fail_unsent(self, job_id: int, message: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == int(JobStatus.PENDING))
                .values(
                    status=int(JobStatus.FAILURE),
                    error=message,
                    error_code=BROKER_UNAVAILABLE,
                    finished_at=utcnow(),
                )
            )
