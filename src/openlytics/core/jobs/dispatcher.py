"""What the job service needs from an executor; implementations live in `openlytics.runtime`."""

from __future__ import annotations

from typing import Protocol


class JobDispatcher(Protocol):
    """Runs jobs somewhere (threads here, Celery workers later) and forwards cancellations."""

    def submit(self, job_id: int) -> None:
        """Arrange for the job to be executed once."""

    def cancel(self, job_id: int) -> None:
        """Interrupt the job if it is running wherever it runs."""
