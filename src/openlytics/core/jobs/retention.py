"""Forget old jobs and results, so the metadata store and the results store stop growing."""

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


# Files younger than this are never swept: a result being written has no row yet.
ORPHAN_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class Purged:
    """What one purge removed."""

    jobs: int
    results: int
    orphan_files: int = 0


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
    orphans = sweep_orphan_files(db, results)
    if removed_jobs or removed_results or orphans:
        log.info("purged %d jobs, %d results, %d orphan files", removed_jobs, removed_results, orphans)
    return Purged(removed_jobs, removed_results, orphans)


def sweep_orphan_files(db: Database, results: ResultStore, *, grace: float = ORPHAN_GRACE_SECONDS) -> int:
    """Delete result files no row points at (a deleted source, a crash mid-write or mid-purge)."""
    removed = 0
    candidates = list(results.files_older_than(grace))
    for start in range(0, len(candidates), BATCH):
        chunk = candidates[start : start + BATCH]
        with db.session() as s:
            known = set(
                s.scalars(select(QueryResult.path).where(QueryResult.path.in_([p for p, _ in chunk])))
            )
        for path, _temporary in chunk:
            if path not in known:
                results.delete(path)
                removed += 1
    return removed
