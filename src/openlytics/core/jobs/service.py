"""Submitting runs (cache, de-duplication, bounded wait), reading jobs and results, cancelling."""

from __future__ import annotations

import builtins
import hashlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, without_hidden
from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.core.errors import (
    InterruptedJobError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.jobs.codec import encode_statement
from openlytics.core.jobs.dispatcher import JobContext, JobDispatcher
from openlytics.core.jobs.events import JobEvents
from openlytics.core.jobs.outcome import RunOutcome, RunPlan
from openlytics.core.jobs.status import ACTIVE, JobStatus
from openlytics.core.pagination import Page, paginate
from openlytics.core.parameters import canonical_values, parse_definitions, render
from openlytics.core.principal import Action, Principal
from openlytics.core.sources import DataSourceService, sql_dialect
from openlytics.engines.base import Statement
from openlytics.results.formats import rows_as_json_objects
from openlytics.results.store import ResultStore
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Job, Organization, Query, QueryResult
from openlytics.store.types import utcnow

# Waiting requests re-read the store this often, in case the job ran in another process.
POLL_SECONDS = 0.25
MAX_DROPDOWN_VALUES = 10_000


class JobService:
    """Runs queries as jobs and serves their results."""

    def __init__(
        self,
        db: Database,
        sources: DataSourceService,
        results: ResultStore,
        events: JobEvents,
        dispatcher: JobDispatcher,
        *,
        default_timeout: float,
        max_wait: float,
        inline_rows: int,
        activity: ActivityLog | None = None,
    ) -> None:
        self.db = db
        self.activity = activity
        self.sources = sources
        self.results = results
        self.events = events
        self.dispatcher = dispatcher
        self.default_timeout = default_timeout
        self.max_wait = max_wait
        self.inline_limit = inline_rows
        self._submit_lock = threading.Lock()
        self._org_uuids: dict[int, str] = {}  # never change, so cached for the life of the process
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    # ----- running -----------------------------------------------------------------------
    def plan_saved(
        self,
        principal: Principal,
        query_id: int,
        parameters: Mapping[str, Any] | None = None,
        *,
        schedule_id: int | None = None,
    ) -> RunPlan:
        """Check access and render a saved query's statement (parameters validated and bound)."""
        principal.require(Action.RUN_SAVED, f"query {query_id}")
        principal.require_query(query_id)
        with self.db.session() as s:
            query = s.get(Query, query_id)
            if query is None or query.org_id != principal.org_id:
                raise NotFoundError("query", query_id)
            require_access(self.sharing, principal, "query", query.id)
            source = s.get(DataSource, query.data_source_id)
            assert source is not None
        statement = render(
            query.sql,
            parse_definitions(query.parameters or []),
            parameters or {},
            dropdown_values=lambda qid: self._dropdown_values(principal, qid),
            dialect=sql_dialect(source.kind),
        )
        return RunPlan(
            source=source,
            statement=statement,
            values=dict(parameters or {}),
            query_id=query.id,
            timeout=query.timeout or self.sources.timeout(source) or self.default_timeout,
            schedule_id=schedule_id,
        )

    def plan_adhoc(
        self,
        principal: Principal,
        sql: str,
        *,
        data_source_id: int | None = None,
        timeout: float | None = None,
    ) -> RunPlan:
        """Check access for arbitrary SQL (editors and admins) on a source (default: the warehouse)."""
        principal.require(Action.RUN_ADHOC, "ad-hoc SQL")
        if not isinstance(sql, str) or not sql.strip():
            raise InvalidInputError("sql", "a non-empty string")
        source = (
            self.sources.get(principal, data_source_id)
            if data_source_id is not None
            else self.sources.default(principal)
        )
        limit = self.sources.timeout(source) or self.default_timeout
        return RunPlan(
            source=source,
            statement=Statement.plain(sql),
            query_id=None,
            timeout=min(timeout, limit) if timeout else limit,
        )

    def run_saved(
        self,
        principal: Principal,
        query_id: int,
        *,
        parameters: Mapping[str, Any] | None = None,
        max_age: float = 0,
        wait: float = 0,
        schedule_id: int | None = None,
    ) -> RunOutcome:
        """Run a saved query with parameter values (validated and bound, never spliced)."""
        plan = self.plan_saved(principal, query_id, parameters, schedule_id=schedule_id)
        return self.run(principal, plan, max_age=max_age, wait=wait)

    def run_adhoc(
        self,
        principal: Principal,
        sql: str,
        *,
        data_source_id: int | None = None,
        max_age: float = 0,
        wait: float = 0,
        timeout: float | None = None,
    ) -> RunOutcome:
        """Run arbitrary SQL (editors and admins)."""
        plan = self.plan_adhoc(principal, sql, data_source_id=data_source_id, timeout=timeout)
        return self.run(principal, plan, max_age=max_age, wait=wait)

    def run(self, principal: Principal, plan: RunPlan, *, max_age: float, wait: float) -> RunOutcome:
        """Answer from the cache, join an identical job in flight, or start one; wait up to `wait` s."""
        if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
            raise InvalidInputError("wait", "a non-negative number of seconds")
        cached, job, created = self._start(principal, plan, max_age)
        if cached is not None:
            return RunOutcome(None, cached)
        assert job is not None
        wait = min(wait, self.max_wait)
        if created:
            self._record_run(principal, plan)
            with self.events.watch(job.id) as watch:
                self._submit(job, plan)
                notified = wait > 0 and watch.event.wait(min(wait, POLL_SECONDS))
                if notified and isinstance(watch.outcome, RunOutcome):
                    return watch.outcome  # finished in this process: nothing to read back
            wait = max(0.0, wait - POLL_SECONDS)
        job = self.wait(job.id, wait)
        result = self._result_of(job) if job.status == JobStatus.SUCCESS else None
        return RunOutcome(job, result)

    def _start(
        self, principal: Principal, plan: RunPlan, max_age: float
    ) -> tuple[QueryResult | None, Job | None, bool]:
        if isinstance(max_age, bool) or not isinstance(max_age, int | float):
            raise InvalidInputError("max_age", "a number of seconds")
        encoded = encode_statement(plan.statement)
        query_hash = _hash(plan.source, encoded)
        if max_age != 0:
            cached = self._cached(plan.source.id, query_hash, max_age)
            if cached is not None:
                return cached, None, False
        job, created = self._job_for(principal, plan, query_hash, encoded)
        return None, job, created

    def _record_run(self, principal: Principal, plan: RunPlan) -> None:
        if self.activity is not None:
            self.activity.record(
                principal.org_id,
                principal.user_id,
                ActivityKind.QUERY_RUN,
                object_type="query",
                object_id=plan.query_id,
            )

    def _submit(self, job: Job, plan: RunPlan) -> None:
        self.dispatcher.submit(job.id, JobContext(job, plan.source, self._org_uuid(plan.source.org_id)))

    def _cached(self, source_id: int, query_hash: str, max_age: float) -> QueryResult | None:
        stmt = select(QueryResult).where(
            QueryResult.data_source_id == source_id, QueryResult.query_hash == query_hash
        )
        if max_age > 0:
            stmt = stmt.where(QueryResult.retrieved_at >= utcnow() - timedelta(seconds=max_age))
        with self.db.session() as s:
            return s.scalar(stmt.order_by(QueryResult.retrieved_at.desc()).limit(1))

    def _job_for(
        self, principal: Principal, plan: RunPlan, query_hash: str, encoded: list[Any]
    ) -> tuple[Job, bool]:
        # Identical statements already in flight share one job instead of running twice.
        with self._submit_lock, self.db.session() as s:
            # Other API processes de-duplicate against the same rows: one at a time per statement.
            self.db.lock_in(s, f"job:{plan.source.id}:{query_hash}")
            running = s.scalar(
                select(Job)
                .where(
                    Job.data_source_id == plan.source.id,
                    Job.query_hash == query_hash,
                    Job.status.in_(ACTIVE),
                )
                .order_by(Job.id)
                .limit(1)
            )
            if running is not None:
                return running, False
            job = Job(
                org_id=principal.org_id,
                user_id=principal.user_id,
                data_source_id=plan.source.id,
                query_id=plan.query_id,
                schedule_id=plan.schedule_id,
                query_hash=query_hash,
                sql_text=_display(encoded),
                parameters={"statement": encoded, "values": json.loads(canonical_values(plan.values))},
                status=int(JobStatus.PENDING),
                timeout=plan.timeout,
            )
            s.add(job)
            s.flush()
            return job, True

    def wait(self, job_id: int, timeout: float) -> Job:
        """The job once finished, or as it stands after `timeout` seconds."""
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            with self.events.watch(job_id) as watch:
                job = self._load_job(job_id)
                remaining = deadline - time.monotonic()
                if JobStatus(job.status).finished or remaining <= 0:
                    return job
                watch.event.wait(min(remaining, POLL_SECONDS))

    # ----- reading -----------------------------------------------------------------------
    def get(self, principal: Principal, job_id: int) -> Job:
        """One job of the organization (query keys: jobs of their query)."""
        principal.require(Action.READ, f"job {job_id}")
        job = self._load_job(job_id)
        if job.org_id != principal.org_id:
            raise NotFoundError("job", job_id)
        if principal.query_scope is not None and job.query_id != principal.query_scope:
            raise PermissionDeniedError("read", f"job {job_id}")
        if job.query_id is not None:  # a saved query's runs are as restricted as the query
            try:
                require_access(self.sharing, principal, "query", job.query_id)
            except NotFoundError:
                raise NotFoundError("job", job_id) from None
        return job

    def list(
        self,
        principal: Principal,
        *,
        status: int | None = None,
        query_id: int | None = None,
        page: int = 1,
        per_page: int = 25,
    ) -> Page[Job]:
        """Jobs of the organization, newest first."""
        principal.require(Action.READ, "jobs")
        stmt = select(Job).where(Job.org_id == principal.org_id)
        if principal.query_scope is not None:
            stmt = stmt.where(Job.query_id == principal.query_scope)
        if status is not None:
            stmt = stmt.where(Job.status == status)
        if query_id is not None:
            stmt = stmt.where(Job.query_id == query_id)
        stmt = without_hidden(stmt, self.sharing, principal, "query", Job.query_id)
        with self.db.session() as s:
            return paginate(s, stmt.order_by(Job.id.desc()), page, per_page)

    def cancel(self, principal: Principal, job_id: int) -> Job:
        """Cancel a job: pending ones never start, running ones are interrupted in the engine."""
        job = self.get(principal, job_id)
        if principal.is_query_key or (job.user_id != principal.user_id and not principal.can(Action.WRITE)):
            raise PermissionDeniedError("cancel", f"job {job_id}")
        if JobStatus(job.status).finished:
            return job
        with self.db.session() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == int(JobStatus.PENDING))
                .values(
                    status=int(JobStatus.CANCELLED),
                    error="query was cancelled",
                    error_code="query_cancelled",
                    finished_at=utcnow(),
                )
            )
        self.dispatcher.cancel(job_id)
        self.events.notify(job_id)
        return self.wait(job_id, 5.0)

    def get_result(self, principal: Principal, result_id: int) -> QueryResult:
        """One stored result (query keys: results of their query)."""
        principal.require(Action.READ, f"result {result_id}")
        with self.db.session() as s:
            result = s.get(QueryResult, result_id)
        if result is None or result.org_id != principal.org_id:
            raise NotFoundError("result", result_id)
        if principal.query_scope is not None and result.query_id != principal.query_scope:
            raise PermissionDeniedError("read", f"result {result_id}")
        if result.query_id is not None:  # a saved query's results are as restricted as the query
            try:
                require_access(self.sharing, principal, "query", result.query_id)
            except NotFoundError:
                raise NotFoundError("result", result_id) from None
        return result

    def open_result(self, principal: Principal, result_id: int) -> tuple[QueryResult, pa.RecordBatchReader]:
        """A result's metadata and a streaming reader over its data."""
        result = self.get_result(principal, result_id)
        return result, self.results.open(result.path)

    def result_file(self, principal: Principal, result_id: int) -> tuple[QueryResult, Path | None]:
        """A result's metadata and the local path of its Arrow IPC stream file (None: not stored locally)."""
        result = self.get_result(principal, result_id)
        return result, self.results.local_path(result.path)

    def open_result_file(self, result: QueryResult) -> pa.NativeFile:
        """The Arrow IPC stream file of a result (from `result_file`) as bytes, wherever it is stored."""
        return self.results.open_bytes(result.path)

    def inline_rows(self, result: QueryResult) -> builtins.list[dict[str, Any]] | None:
        """The rows as JSON-ready dicts when the result is small enough to inline, else None."""
        if result.row_count > self.inline_limit:
            return None
        return rows_as_json_objects(self.results.open(result.path), self.inline_limit)

    def recover_after_restart(self, *, worker: str | None = None, resubmit: bool = True) -> tuple[int, int]:
        """Fail jobs a dead process left STARTED and resubmit PENDING ones; (failed, resubmitted).

        With `worker`, only that worker's STARTED jobs fail: jobs run in other processes (workers
        of a distributed executor) are theirs to finish, and the reaper's once they die."""
        started = Job.status == int(JobStatus.STARTED)
        if worker is not None:
            started = started & (Job.worker == worker)
        with self.db.session() as s:
            failed = cast(
                CursorResult[Any],
                s.execute(
                    update(Job)
                    .where(started)
                    .values(
                        status=int(JobStatus.FAILURE),
                        error=InterruptedJobError().message,
                        error_code=InterruptedJobError.code,
                        finished_at=utcnow(),
                    )
                ),
            ).rowcount
            pending = (
                list(s.scalars(select(Job.id).where(Job.status == int(JobStatus.PENDING))))
                if resubmit
                else []
            )
        for job_id in pending:
            self.dispatcher.submit(job_id)
        return failed, len(pending)

    # ----- helpers -----------------------------------------------------------------------
    def _org_uuid(self, org_id: int) -> str:
        if org_id not in self._org_uuids:
            with self.db.session() as s:
                org = s.get(Organization, org_id)
                if org is None:
                    raise NotFoundError("organization", org_id)
                self._org_uuids[org_id] = str(org.uuid)
        return self._org_uuids[org_id]

    def _load_job(self, job_id: int) -> Job:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFoundError("job", job_id)
            return job

    def _result_of(self, job: Job) -> QueryResult | None:
        if job.result_id is None:
            return None
        with self.db.session() as s:
            return s.get(QueryResult, job.result_id)

    def _dropdown_values(self, principal: Principal, query_id: int) -> Sequence[Any]:
        with self.db.session() as s:
            query = _query_in_org(s, principal, query_id)
            require_access(self.sharing, principal, "query", query.id)
            result = s.get(QueryResult, query.latest_result_id) if query.latest_result_id else None
        if result is None:
            raise InvalidInputError("parameters", f"query {query_id} has no result to offer values from")
        reader = self.results.open(result.path)
        values: list[Any] = []
        for batch in reader:
            if batch.num_columns == 0:
                break
            values.extend(batch.column(0).to_pylist())
            if len(values) >= MAX_DROPDOWN_VALUES:
                break
        return values[:MAX_DROPDOWN_VALUES]


def _query_in_org(s: Session, principal: Principal, query_id: int) -> Query:
    query = s.get(Query, query_id)
    if query is None or query.org_id != principal.org_id:
        raise NotFoundError("query", query_id)
    return query


def _hash(source: DataSource, encoded: list[Any]) -> str:
    payload = json.dumps([source.cache_generation, encoded], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _display(encoded: list[Any]) -> str:
    parts: list[str] = []
    for item in encoded:
        if isinstance(item, dict):
            parts.append(repr(item["bind"]["v"]))
        else:
            parts.append(item)
    return "".join(parts)
