"""What a run is (a plan) and what it produced (an outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openlytics.engines.base import Statement
from openlytics.store.models import DataSource, Job, QueryResult


@dataclass(frozen=True)
class RunOutcome:
    """A result (job None on a cache hit), or a job still running or failed."""

    job: Job | None
    result: QueryResult | None


@dataclass(frozen=True)
class RunPlan:
    """A statement ready to run: where, what (rendered), for which query, with which time limit."""

    source: DataSource
    statement: Statement
    values: dict[str, Any] = field(default_factory=dict)
    query_id: int | None = None
    timeout: float | None = None
    schedule_id: int | None = None
