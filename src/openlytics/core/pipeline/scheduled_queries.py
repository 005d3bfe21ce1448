"""Scheduled queries on the output (consolidation): saved queries run by the core scheduler.

A scheduled query is a saved query on the output's data source (the warehouse, or the data source
of a PostgreSQL output) plus a schedule of kind "query_refresh" (every `frequency` hours, or on the
`run_at` cron expression), so the ordinary scheduler runs it. Its id is the schedule's id; the
schedule's payload marks it (`scheduled_query`) and keeps the event type, the query type and the
custom variables.

The *default* query consolidates an event type's table: it keeps the latest row of each primary key
(the table's primary key, or every column when it has none) in `<table>_consolidated`, rebuilt on
each run. "Latest" is the greatest `_metadata__received_at`-like column when the table has one,
else the insertion order (warehouse) — see `consolidation_sql`.

Status: "error" when the latest run failed (the scheduler could not start it, or its job failed;
the message is shown), "done" when the schedule will not fire again, "active" otherwise.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from openlytics.core.errors import InvalidInputError, NotFoundError, OpenlyticsError
from openlytics.core.jobs.status import JobStatus
from openlytics.core.pipeline import require_read
from openlytics.core.pipeline.outputs import OutputService
from openlytics.core.principal import Action, Principal
from openlytics.core.queries import QueryService
from openlytics.core.schedules import ScheduleService
from openlytics.engines.base import quote_identifier
from openlytics.store.db import Database
from openlytics.store.models import (
    EventType,
    Job,
    PipelineOutput,
    Query,
    Schedule,
    ScheduleRun,
    Visualization,
)

if TYPE_CHECKING:  # the runtime's scheduler is only handed in
    from openlytics.runtime.scheduler import Scheduler

KIND = "query_refresh"
MARKER = "scheduled_query"
CONSOLIDATED_SUFFIX = "_consolidated"
MODULE_NAME = "consolidation"
# Columns telling when a row arrived, most specific first (the mapper's names for _metadata fields).
ARRIVAL_COLUMNS = (
    "_metadata__received_at",
    "_metadata_received_at",
    "_metadata__timestamp",
    "_metadata_timestamp",
    "received_at",
)


@dataclass(frozen=True)
class ScheduledQuery:
    """A scheduled query and how its runs went."""

    id: int
    event_type: str
    query_type: str  # "custom" | "default"
    custom_query: str
    frequency: float | None
    run_at: str | None
    status: str  # "active" | "error" | "done"
    error_message: str | None
    error_count: int
    last_processing_time: datetime | None
    next_processing_time: datetime | None
    last_success_time: datetime | None
    deployment_name: str
    state_id: str
    module_name: str
    query_id: int = 0
    custom_variables: dict[str, Any] = field(default_factory=dict)


class ScheduledQueries:
    """Create, list, run and remove the organization's scheduled queries."""

    def __init__(
        self,
        db: Database,
        queries: QueryService,
        schedules: ScheduleService,
        scheduler: Scheduler,
        outputs: OutputService,
        *,
        deployment_name: str = "openlytics",
    ) -> None:
        self.db = db
        self.queries = queries
        self.schedules = schedules
        self.scheduler = scheduler
        self.outputs = outputs
        self.deployment_name = deployment_name
        outputs.on_change.append(self._follow_output)

    # ----- reading -----------------------------------------------------------------------------
    def list(self, principal: Principal, *, event_type: str | None = None) -> builtins.list[ScheduledQuery]:
        """The scheduled queries, oldest first (those of one event type when given)."""
        require_read(principal, "scheduled queries")
        found = [
            s
            for s in self._schedules(principal)
            if event_type is None or _payload(s)["event_type"] == event_type
        ]
        return [self._shown(s) for s in found]

    def get(self, principal: Principal, id: int) -> ScheduledQuery:
        """One scheduled query."""
        require_read(principal, "scheduled queries")
        return self._shown(self._find(principal, id))

    def in_error(self, principal: Principal) -> builtins.list[ScheduledQuery]:
        """The scheduled queries whose latest run failed."""
        return [q for q in self.list(principal) if q.status == "error"]

    # ----- changes -----------------------------------------------------------------------------
    def create_default(self, principal: Principal, configuration: dict[str, Any]) -> ScheduledQuery:
        """Schedule the consolidation of an event type's table (`event_type`, `frequency` hours or
        `run_at` cron, optional `custom_variables`)."""
        principal.require(Action.MANAGE_SOURCES, "scheduled queries")
        if not isinstance(configuration, dict):
            raise InvalidInputError("configuration", "an object")
        name = _event_type_name(configuration.get("event_type"))
        schema, table = self._table_of(principal, name)
        sql = self.consolidation_sql(principal, schema, table)
        variables = configuration.get("custom_variables") or {}
        if not isinstance(variables, dict):
            raise InvalidInputError("custom_variables", "an object")
        return self._create(
            principal,
            event_type=name,
            query_type="default",
            sql=sql,
            frequency=configuration.get("frequency"),
            run_at=configuration.get("run_at"),
            extra={"custom_variables": variables},
        )

    def create_custom(
        self,
        principal: Principal,
        *,
        event_type: str,
        query: str,
        frequency_hours: float | None = None,
        run_at: str | None = None,
    ) -> ScheduledQuery:
        """Schedule a query of one's own on the output."""
        principal.require(Action.MANAGE_SOURCES, "scheduled queries")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("custom_query", "a non-empty SQL text")
        return self._create(
            principal,
            event_type=_event_type_name(event_type),
            query_type="custom",
            sql=query,
            frequency=frequency_hours,
            run_at=run_at,
            extra={},
        )

    def remove(self, principal: Principal, id: int) -> None:
        """Remove a scheduled query: its schedule and its saved query."""
        principal.require(Action.MANAGE_SOURCES, "scheduled queries")
        schedule = self._find(principal, id)
        self.schedules.delete(principal, schedule.id)
        with self.db.session() as s:
            s.execute(delete(Visualization).where(Visualization.query_id == schedule.target_id))
            s.execute(delete(Query).where(Query.id == schedule.target_id, Query.org_id == principal.org_id))

    def run(self, principal: Principal, id: int) -> ScheduleRun:
        """Run a scheduled query now (a manual run of its schedule)."""
        principal.require(Action.MANAGE_SOURCES, "scheduled queries")
        return self.scheduler.trigger(principal, self._find(principal, id).id)

    # ----- the default query -------------------------------------------------------------------
    def consolidation_sql(self, principal: Principal, schema: str | None, table: str) -> str:
        """SQL (on the output) keeping the latest row of each primary key in `<table>_consolidated`."""
        require_read(principal, "scheduled queries")
        sink = self.outputs.sink(principal.org_id)
        columns = sink.table_columns(schema, table)
        if columns is None:
            raise InvalidInputError("event_type", f"its table {table!r} does not exist in the output")
        key = sink.primary_key(schema, table) or builtins.list(columns)
        arrival = next((c for c in columns if c.lower() in ARRIVAL_COLUMNS), None)
        partition = ", ".join(quote_identifier(k) for k in key)
        target = table + CONSOLIDATED_SUFFIX
        if self.outputs.is_warehouse(self.outputs.get(principal)):
            order = f"{quote_identifier(arrival)} DESC NULLS LAST, _ol_n DESC" if arrival else "_ol_n DESC"
            warehouse = self.outputs.data_source(principal)
            if self.outputs.sources.sql_dialect(warehouse) == "postgresql":
                # No CREATE OR REPLACE TABLE: drop and create in the statement's one transaction.
                listed = ", ".join(quote_identifier(c) for c in columns)
                return (
                    f"DROP TABLE IF EXISTS {quote_identifier(target)};\n"
                    f"CREATE TABLE {quote_identifier(target)} AS SELECT {listed} FROM (SELECT *, "
                    f"row_number() OVER (PARTITION BY {partition} ORDER BY {order}) AS _ol_rank FROM "
                    f"(SELECT *, row_number() OVER () AS _ol_n FROM {quote_identifier(table)}) numbered) "
                    f"ranked WHERE _ol_rank = 1"
                )
            return (
                f"CREATE OR REPLACE TABLE {quote_identifier(target)} AS\n"
                f"SELECT * EXCLUDE (_ol_n) FROM (SELECT *, row_number() OVER () AS _ol_n "
                f"FROM {quote_identifier(table)})\n"
                f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {order}) = 1"
            )
        qualified_schema = quote_identifier(schema or self.outputs.default_schema(principal.org_id))
        source = f"{qualified_schema}.{quote_identifier(table)}"
        destination = f"{qualified_schema}.{quote_identifier(target)}"
        order = f" ORDER BY {quote_identifier(arrival)} DESC" if arrival else ""
        listed = ", ".join(quote_identifier(c) for c in columns)
        return (
            f"DROP TABLE IF EXISTS {destination};\n"
            f"CREATE TABLE {destination} AS SELECT {listed} FROM (SELECT *, row_number() OVER "
            f"(PARTITION BY {partition}{order}) AS _ol_rank FROM {source}) ranked WHERE _ol_rank = 1"
        )

    # ----- helpers -----------------------------------------------------------------------------
    def _create(
        self,
        principal: Principal,
        *,
        event_type: str,
        query_type: str,
        sql: str,
        frequency: Any,
        run_at: Any,
        extra: dict[str, Any],
    ) -> ScheduledQuery:
        timing = _timing(frequency, run_at)
        source = self.outputs.data_source(principal)
        label = "Consolidation" if query_type == "default" else "Scheduled query"
        query = self.queries.create(
            principal,
            name=f"{label}: {event_type}"[:255],
            sql=sql,
            data_source_id=source.id,
            description=f"Scheduled query of the event pipeline ({query_type}) for event type {event_type}",
        )
        payload = {
            MARKER: True,
            "event_type": event_type,
            "query_type": query_type,
            "frequency": _hours(frequency) if timing.get("interval_seconds") else None,
            "run_at": timing.get("cron"),
            **extra,
        }
        try:
            schedule = self.schedules.create(
                principal, kind=KIND, target_id=query.id, payload=payload, name=query.name, **timing
            )
        except BaseException:
            with self.db.session() as s:
                s.execute(delete(Visualization).where(Visualization.query_id == query.id))
                s.execute(delete(Query).where(Query.id == query.id))
            raise
        return self._shown(schedule)

    def _table_of(self, principal: Principal, name: str) -> tuple[str | None, str]:
        with self.db.session() as s:
            event_type = s.scalar(
                select(EventType).where(EventType.org_id == principal.org_id, EventType.name == name)
            )
        if event_type is None:
            raise InvalidInputError("event_type", f"no event type {name!r}")
        if event_type.is_discarded or not event_type.table_name:
            raise InvalidInputError("event_type", f"event type {name!r} is not mapped to a table")
        return event_type.schema_name, event_type.table_name

    def _schedules(self, principal: Principal) -> builtins.list[Schedule]:
        with self.db.session() as s:
            found = s.scalars(
                select(Schedule)
                .where(Schedule.org_id == principal.org_id, Schedule.kind == KIND)
                .order_by(Schedule.id)
            )
            return [x for x in found if (x.payload or {}).get(MARKER)]

    def _find(self, principal: Principal, id: Any) -> Schedule:
        try:
            wanted = int(id)
        except (TypeError, ValueError):
            raise NotFoundError("scheduled query", id) from None
        with self.db.session() as s:
            schedule = s.scalar(
                select(Schedule).where(
                    Schedule.id == wanted, Schedule.org_id == principal.org_id, Schedule.kind == KIND
                )
            )
        if schedule is None or not (schedule.payload or {}).get(MARKER):
            raise NotFoundError("scheduled query", id)
        return schedule

    def _shown(self, schedule: Schedule) -> ScheduledQuery:
        payload = _payload(schedule)
        with self.db.session() as s:
            query = s.get(Query, schedule.target_id)
            runs = builtins.list(
                s.execute(
                    select(ScheduleRun, Job)
                    .outerjoin(Job, Job.id == ScheduleRun.job_id)
                    .where(ScheduleRun.schedule_id == schedule.id)
                    .order_by(ScheduleRun.fired_at.desc(), ScheduleRun.id.desc())
                ).all()
            )
        errors = [_error_of(run, job) for run, job in runs]
        successes = [
            job.finished_at for _, job in runs if job is not None and job.status == JobStatus.SUCCESS
        ]
        latest_error = errors[0] if errors else None
        if latest_error is not None:
            status = "error"
        elif schedule.next_run_at is None:
            status = "done"
        else:
            status = "active"
        return ScheduledQuery(
            id=schedule.id,
            event_type=payload["event_type"],
            query_type=payload["query_type"],
            custom_query=query.sql if query is not None else "",
            frequency=payload.get("frequency"),
            run_at=payload.get("run_at"),
            status=status,
            error_message=latest_error,
            error_count=sum(1 for e in errors if e is not None),
            last_processing_time=schedule.last_run_at,
            next_processing_time=schedule.next_run_at,
            last_success_time=max((t for t in successes if t is not None), default=None),
            deployment_name=self.deployment_name,
            state_id=str(schedule.id),
            module_name=MODULE_NAME,
            query_id=schedule.target_id,
            custom_variables=dict(payload.get("custom_variables") or {}),
        )

    def _follow_output(self, principal: Principal, record: PipelineOutput) -> None:
        """After the output changed: run the scheduled queries on its data source (default
        queries are rewritten for it when their table is there)."""
        try:
            source = self.outputs.data_source(principal)
        except OpenlyticsError:
            return  # an output queries cannot run on: they keep failing until it changes back
        for schedule in self._schedules(principal):
            payload = _payload(schedule)
            changes: dict[str, Any] = {"data_source_id": source.id}
            if payload["query_type"] == "default":
                try:
                    schema, table = self._table_of(principal, payload["event_type"])
                    changes["sql"] = self.consolidation_sql(principal, schema, table)
                except OpenlyticsError:
                    pass  # the table is not on the new output (yet): keep the query as it was
            self.queries.update(principal, schedule.target_id, **changes)


def _payload(schedule: Schedule) -> dict[str, Any]:
    payload = dict(schedule.payload or {})
    payload.setdefault("event_type", "")
    payload.setdefault("query_type", "custom")
    return payload


def _error_of(run: ScheduleRun, job: Job | None) -> str | None:
    if run.error:
        return run.error
    if job is not None and job.status in (JobStatus.FAILURE, JobStatus.CANCELLED):
        return job.error or "the query failed"
    return None


def _event_type_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("event_type", "required")
    return value.strip()


def _hours(value: Any) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError("frequency", "a number of hours") from None
    if not 0 < hours <= 24 * 366:
        raise InvalidInputError("frequency", "a number of hours between 0 and 8784")
    return int(hours) if hours.is_integer() else hours


def _timing(frequency: Any, run_at: Any) -> dict[str, Any]:
    """Schedule timing: every `frequency` hours, or on the `run_at` cron expression."""
    if run_at not in (None, "") and frequency not in (None, ""):
        raise InvalidInputError("run_at", "give either frequency or run_at, not both")
    if run_at not in (None, ""):
        if not isinstance(run_at, str):
            raise InvalidInputError("run_at", "a cron expression")
        return {"cron": run_at}
    if frequency in (None, ""):
        raise InvalidInputError("frequency", "give frequency (hours) or run_at (a cron expression)")
    return {"interval_seconds": max(1, round(_hours(frequency) * 3600))}
