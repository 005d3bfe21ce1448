"""What the job service needs from an executor; implementations live in `openlytics.runtime`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from openlytics.store.models import DataSource, Job


@dataclass(frozen=True)
class JobContext:
    """What a runner needs to start a job, handed over in-process so it need not re-read it."""

    job: Job
    source: DataSource
    org_uuid: str


class JobDispatcher(Protocol):
    """Runs jobs somewhere (threads here, Celery workers later) and forwards cancellations."""

    def submit(self, job_id: int, context: JobContext | None = None) -> None:
        """Arrange for the job to be executed once; `context` is a hint executors may ignore."""

    def cancel(self, job_id: int) -> None:
        """Interrupt the job if it is running wherever it runs."""
