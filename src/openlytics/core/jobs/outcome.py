"""What a run produced."""

from __future__ import annotations

from dataclasses import dataclass

from openlytics.store.models import Job, QueryResult


@dataclass(frozen=True)
class RunOutcome:
    """A result (job None on a cache hit), or a job still running or failed."""

    job: Job | None
    result: QueryResult | None
