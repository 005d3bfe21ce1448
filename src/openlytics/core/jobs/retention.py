"""Forget old jobs and results, so the metadata store and the results directory stop growing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update

from openlytics.core.jobs.status import ACTIVE
from openlytics.results.store import ResultStore
from openlytics.store.db import Database
from openlytics.store.models import Job, Query, QueryResult
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Purged:
    """What one purge removed."""

    jobs: int
    results: int


def purge_expired(
    db: Database,
    results: ResultStore,
    *,
    job_days: float,
    result_days: float,
    now: datetime | None = None,
) -> Purged:
    """Delete finished jobs older than `job_days` and results older than `result_days`.

    A result that is still some query's latest result is kept whatever its age (it is what the
    query shows, and what its dropdown parameters offer), as are results of jobs still running.
    """
    now = now or utcnow()
    removed_results = 0
    while True:
        with db.session() as s:
            latest = select(Query.latest_result_id).where(Query.latest_result_id.is_not(None))
            running = select(Job.result_id).where(Job.status.in_(ACTIVE), Job.result_id.is_not(None))
            expired = list(
                s.scalars(
                    select(QueryResult)
                    .where(
                        QueryResult.retrieved_at < now - timedelta(days=result_days),
                        QueryResult.id.not_in(latest),
                        QueryResult.id.not_in(running),
                    )
                    .limit(BATCH)
                )
            )
            if not expired:
                break
            ids = [r.id for r in expired]
            s.execute(update(Job).where(Job.result_id.in_(ids)).values(result_id=None))
            s.execute(delete(QueryResult).where(QueryResult.id.in_(ids)))
        # Files go after the rows: a crash in between leaves an orphan file, never a dangling row.
        for result in expired:
            results.delete(result.path)
        removed_results += len(expired)
    with db.session() as s:
        outcome = s.execute(
            delete(Job).where(
                Job.status.not_in(ACTIVE),
                Job.created_at < now - timedelta(days=job_days),
            )
        )
        removed_jobs = cast(CursorResult[Any], outcome).rowcount
    if removed_jobs or removed_results:
        log.info("purged %d old jobs and %d old results", removed_jobs, removed_results)
    return Purged(removed_jobs, removed_results)
