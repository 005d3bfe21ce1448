"""Queries as jobs: submission with caching and de-duplication, execution, cancellation, waiting."""

from openlytics.core.jobs.outcome import RunOutcome
from openlytics.core.jobs.service import JobService
from openlytics.core.jobs.status import JobStatus

__all__ = ["JobService", "JobStatus", "RunOutcome"]
