"""Executes one job: claim it, run the statement on its engine, store the result, record the outcome."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from openlytics.core.errors import (
    InterruptedJobError,
    OpenlyticsError,
    QueryCancelledError,
    QueryTimeoutError,
)
from openlytics.core.jobs.codec import decode_statement
from openlytics.core.jobs.deadlines import Deadlines
from openlytics.core.jobs.dispatcher import JobContext
from openlytics.core.jobs.events import JobEvents
from openlytics.core.jobs.outcome import RunOutcome
from openlytics.core.jobs.prefetch import Prefetcher
from openlytics.core.jobs.status import ACTIVE, JobStatus
from openlytics.core.sources import DataSourceService
from openlytics.engines.base import Execution
from openlytics.results.store import ResultStore, StoredResult
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Job, Organization, Query, QueryResult
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class _Running:
    execution: Execution | None = None
    reason: str | None = None  # "cancelled", "timeout" or "shutdown" once interrupted
    finished: bool = False


class JobRunner:
    """Runs jobs in the current process and can interrupt the ones it is running."""

    # A job handed over in-process is written STARTED only if it runs longer than this, so a fast
    # query costs one write less; pollers see STARTED for anything they could notice running.
    MARK_STARTED_AFTER = 0.05

    def __init__(
        self, db: Database, sources: DataSourceService, results: ResultStore, events: JobEvents
    ) -> None:
        self.db = db
        self.sources = sources
        self.results = results
        self.events = events
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}
        self.deadlines = Deadlines()
        # Called with every successful outcome of a saved query (alerts are checked this way).
        self.on_query_result: list[Callable[[Job, QueryResult], None]] = []

    def run(self, job_id: int, context: JobContext | None = None) -> None:
        """Execute a PENDING job to its end; a job that is no longer PENDING is left alone."""
        claimed = context is None
        running = _Running()
        with self._lock:
            if job_id in self._running:  # a duplicate message for a job running here: nothing to do
                return
            # Registered before the claim: a cancel that arrives as soon as the job reads STARTED
            # (another process polls the store and broadcasts it) finds the job and is not lost.
            self._running[job_id] = running
        if context is None:
            try:
                context = self._claim(job_id)
            finally:
                if context is None:  # not ours to run (or the claim failed): forget it
                    with self._lock:
                        self._running.pop(job_id, None)
            if context is None:
                self.events.notify(job_id)
                return
        job = context.job
        job.started_at = job.started_at or utcnow()
        # Registered first, so the deadline always finds the job it is to mark.
        mark = None
        if not claimed:
            mark = self.deadlines.schedule(self.MARK_STARTED_AFTER, lambda: self._mark_started(job_id))
        timer = None
        if job.timeout:
            timer = self.deadlines.schedule(job.timeout, lambda: self.interrupt(job_id, "timeout"))
        outcome: RunOutcome | None = None
        try:
            outcome = self._execute(context, running)
        except QueryCancelledError as exc:
            if running.reason == "timeout":
                outcome = self._finish(job, JobStatus.FAILURE, QueryTimeoutError(job.timeout or 0))
            elif running.reason == "shutdown":
                outcome = self._finish(job, JobStatus.FAILURE, InterruptedJobError())
            else:
                outcome = self._finish(job, JobStatus.CANCELLED, exc)
        except OpenlyticsError as exc:
            outcome = self._finish(job, JobStatus.FAILURE, exc)
        except Exception as exc:  # a bug must not leave the job STARTED forever
            log.exception("job %s failed unexpectedly", job_id)
            error = OpenlyticsError(f"internal error: {type(exc).__name__}: {exc}")
            outcome = self._finish(job, JobStatus.FAILURE, error)
        finally:
            for handle in (timer, mark):
                if handle is not None:
                    self.deadlines.cancel(handle)
            with self._lock:
                running.finished = True
                self._running.pop(job_id, None)
            self.events.notify(job_id, outcome)
        if outcome is not None and outcome.result is not None and job.query_id is not None:
            self._announce(job, outcome.result)

    def _announce(self, job: Job, result: QueryResult) -> None:
        for listener in self.on_query_result:
            try:
                listener(job, result)
            except Exception:  # a listener's bug must not fail the job that already succeeded
                log.exception("listener %r failed for job %s", listener, job.id)

    def interrupt(self, job_id: int, reason: str = "cancelled") -> bool:
        """Interrupt a job running here; False when it is not running in this process."""
        with self._lock:
            running = self._running.get(job_id)
            if running is None:
                return False
            running.reason = running.reason or reason
            execution = running.execution
        if execution is not None:
            execution.cancel()
        return True

    def interrupt_all(self, reason: str = "shutdown") -> int:
        """Interrupt every job running here (the server is stopping); how many were."""
        with self._lock:
            job_ids = list(self._running)
        interrupted = sum(self.interrupt(job_id, reason) for job_id in job_ids)
        self.deadlines.stop()
        return interrupted

    def _claim(self, job_id: int) -> JobContext | None:
        # One compare-and-set: only a PENDING job is taken, so a cancelled one never starts.
        with self.db.session() as s:
            job = s.scalar(
                update(Job)
                .where(Job.id == job_id, Job.status == int(JobStatus.PENDING))
                .values(status=int(JobStatus.STARTED), started_at=utcnow(), worker=self.worker_name)
                .returning(Job)
            )
            if job is None:
                return None
            row = s.execute(
                select(DataSource, Organization.uuid)
                .join(Organization, Organization.id == DataSource.org_id)
                .where(DataSource.id == job.data_source_id)
            ).one()
            return JobContext(job, row[0], str(row[1]))

    def _mark_started(self, job_id: int) -> None:
        with self._lock:
            running = self._running.get(job_id)
            if running is None or running.finished:
                return
        with self.db.session() as s:
            marked = s.scalar(
                update(Job)
                .where(Job.id == job_id, Job.status == int(JobStatus.PENDING))
                .values(status=int(JobStatus.STARTED), started_at=utcnow(), worker=self.worker_name)
                .returning(Job.id)
            )
        if marked is None:  # cancelled before it could be marked: stop the statement
            self.interrupt(job_id, "cancelled")

    def _execute(self, context: JobContext, running: _Running) -> RunOutcome:
        job = context.job
        statement = decode_statement(job.parameters["statement"])
        started = time.perf_counter()
        execution = self.sources.engine(context.source).execute(statement)
        with self._lock:
            running.execution = execution
            interrupted = running.reason is not None
        if interrupted:  # cancelled between claim and start
            execution.cancel()
        with execution, Prefetcher(execution.batches()) as batches:
            stored = self.results.write(context.org_uuid, execution.schema, iter(batches))
        runtime = time.perf_counter() - started
        try:
            outcome = self._succeed(job, stored, runtime)
        except BaseException:
            self.results.delete(stored.path)
            raise
        if outcome.result is None:  # cancelled while it ran: the result is not kept
            self.results.delete(stored.path)
        return outcome

    def _succeed(self, job: Job, stored: StoredResult, runtime: float) -> RunOutcome:
        now = utcnow()
        with self.db.session() as s:
            result = QueryResult(
                org_id=job.org_id,
                data_source_id=job.data_source_id,
                query_id=job.query_id,
                query_hash=job.query_hash,
                sql_text=job.sql_text,
                parameters=job.parameters.get("values", {}),
                path=stored.path,
                row_count=stored.row_count,
                byte_size=stored.byte_size,
                columns=[{"name": c.name, "type": c.type} for c in stored.columns],
                runtime_seconds=runtime,
                retrieved_at=now,
                created_at=now,
                updated_at=now,
            )
            s.add(result)
            s.flush()
            finished = s.scalar(
                update(Job)
                .where(Job.id == job.id, Job.status.in_(ACTIVE))
                .values(
                    status=int(JobStatus.SUCCESS),
                    result_id=result.id,
                    started_at=job.started_at,
                    finished_at=now,
                    updated_at=now,
                    worker=self.worker_name,
                )
                .returning(Job.id)
            )
            if finished is None:
                s.rollback()
                return RunOutcome(s.get(Job, job.id), None)
            if job.query_id is not None:
                s.execute(update(Query).where(Query.id == job.query_id).values(latest_result_id=result.id))
        # The detached job mirrors what was stored, so local waiters need not read it back.
        job.status, job.result_id, job.finished_at, job.updated_at = (
            int(JobStatus.SUCCESS),
            result.id,
            now,
            now,
        )
        return RunOutcome(job, result)

    def _finish(self, job: Job, status: JobStatus, error: OpenlyticsError) -> RunOutcome:
        now = utcnow()
        with self.db.session() as s:
            s.execute(
                update(Job)
                .where(Job.id == job.id, Job.status.in_(ACTIVE))
                .values(
                    status=int(status),
                    error=error.message,
                    error_code=error.code,
                    started_at=job.started_at,
                    finished_at=now,
                    updated_at=now,
                )
            )
            return RunOutcome(s.get(Job, job.id, populate_existing=True), None)
