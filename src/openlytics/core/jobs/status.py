"""Job status codes; the numbering is the one vendor dialects of job-polling APIs expect."""

from __future__ import annotations

from enum import IntEnum


class JobStatus(IntEnum):
    """Lifecycle of a job."""

    PENDING = 1
    STARTED = 2
    SUCCESS = 3
    FAILURE = 4
    CANCELLED = 5

    @property
    def finished(self) -> bool:
        """Whether the job reached a final state."""
        return self in (JobStatus.SUCCESS, JobStatus.FAILURE, JobStatus.CANCELLED)


ACTIVE = (int(JobStatus.PENDING), int(JobStatus.STARTED))
