"""Scheduled (consolidation) queries: saved queries + query_refresh schedules run by the scheduler."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.jobs.status import JobStatus
from openlytics.core.principal import Principal, Role
from openlytics.store.models import EventType, ScheduleRun
from tests.conftest import POSTGRES_URL, make_settings

ORDER_COLUMNS = [
    {"columnName": "id", "columnType": {"type": "BIGINT"}, "primaryKey": True},
    {"columnName": "status", "columnType": {"type": "VARCHAR"}},
    {"columnName": "_metadata__received_at", "columnType": {"type": "TIMESTAMP"}},
]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def system(app: Openlytics) -> Principal:
    return Principal.system(app.identity.organizations()[0].id)


def map_event_type(app: Openlytics, org_id: int, name: str, table: str, schema: str | None = None) -> None:
    with app.db.session() as s:
        s.add(EventType(org_id=org_id, name=name, state="MAPPED", table_name=table, schema_name=schema))


def wait_for(app: Openlytics, system: Principal, run: ScheduleRun) -> JobStatus:
    assert run.error is None and run.job_id is not None, run.error
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = JobStatus(app.jobs.get(system, run.job_id).status)
        if status.finished:
            return status
        time.sleep(0.05)
    raise AssertionError("the scheduled query did not finish")


def sql(app: Openlytics, system: Principal, text: str) -> list[dict[str, Any]]:
    outcome = app.jobs.run_adhoc(system, text, wait=30, max_age=0)
    assert outcome.result is not None, outcome.job and outcome.job.error
    return app.jobs.inline_rows(outcome.result) or []


def test_the_default_query_keeps_the_latest_row_of_each_key(app: Openlytics, system: Principal) -> None:
    app.output_tables.create(system, "orders", ORDER_COLUMNS)
    sink = app.pipeline_outputs.sink(system.org_id)
    t = [datetime(2026, 1, 1, h) for h in range(4)]
    batch = pa.table(
        {
            "id": [1, 2, 1, 2],
            "status": ["new", "new", "paid", "lost"],
            "_metadata__received_at": [t[0], t[3], t[2], t[1]],
        }
    )
    sink.load(None, "orders", batch)
    map_event_type(app, system.org_id, "Order", "orders")

    created = app.scheduled_queries.create_default(
        system, {"event_type": "Order", "frequency": 6, "custom_variables": {"team": "ops"}}
    )
    assert (created.event_type, created.query_type, created.frequency, created.run_at) == (
        "Order",
        "default",
        6,
        None,
    )
    assert created.status == "active" and created.error_count == 0
    assert created.custom_variables == {"team": "ops"}
    assert '"orders_consolidated"' in created.custom_query
    assert created.next_processing_time is not None and created.last_success_time is None
    assert app.schedules.get(system, created.id).interval_seconds == 6 * 3600

    run = app.scheduled_queries.run(system, created.id)
    assert wait_for(app, system, run) is JobStatus.SUCCESS
    consolidated = sql(app, system, "SELECT id, status FROM orders_consolidated ORDER BY id")
    assert consolidated == [{"id": 1, "status": "paid"}, {"id": 2, "status": "new"}]
    shown = app.scheduled_queries.get(system, created.id)
    assert shown.status == "active" and shown.last_success_time is not None
    assert shown.last_processing_time is not None


def test_custom_queries_are_listed_and_show_their_errors(app: Openlytics, system: Principal) -> None:
    app.output_tables.create(system, "orders", ORDER_COLUMNS)
    map_event_type(app, system.org_id, "Order", "orders")
    good = app.scheduled_queries.create_custom(
        system, event_type="Order", query="SELECT count(*) AS n FROM orders", run_at="0 3 * * *"
    )
    bad = app.scheduled_queries.create_custom(
        system, event_type="Refund", query="SELECT * FROM no_such_table", frequency_hours=1
    )
    assert (good.query_type, good.run_at, good.frequency) == ("custom", "0 3 * * *", None)
    assert [q.id for q in app.scheduled_queries.list(system)] == [good.id, bad.id]
    assert [q.id for q in app.scheduled_queries.list(system, event_type="Refund")] == [bad.id]
    assert app.scheduled_queries.in_error(system) == []

    assert wait_for(app, system, app.scheduled_queries.run(system, bad.id)) is JobStatus.FAILURE
    failed = app.scheduled_queries.get(system, bad.id)
    assert failed.status == "error" and failed.error_count == 1
    assert failed.error_message and "no_such_table" in failed.error_message
    assert [q.id for q in app.scheduled_queries.in_error(system)] == [bad.id]

    app.scheduled_queries.remove(system, bad.id)
    assert [q.id for q in app.scheduled_queries.list(system)] == [good.id]
    with pytest.raises(NotFoundError):
        app.queries.get(system, failed.query_id)
    with pytest.raises(NotFoundError):
        app.scheduled_queries.remove(system, bad.id)


def test_scheduled_queries_check_their_configuration(app: Openlytics, system: Principal) -> None:
    queries = app.scheduled_queries
    with pytest.raises(InvalidInputError, match="no event type"):
        queries.create_default(system, {"event_type": "Ghost", "frequency": 1})
    with app.db.session() as s:
        s.add(EventType(org_id=system.org_id, name="Loose", state="UNMAPPED"))
    with pytest.raises(InvalidInputError, match="not mapped"):
        queries.create_default(system, {"event_type": "Loose", "frequency": 1})
    map_event_type(app, system.org_id, "Gone", "gone_table")
    with pytest.raises(InvalidInputError, match="does not exist"):
        queries.create_default(system, {"event_type": "Gone", "frequency": 1})
    with pytest.raises(InvalidInputError) as timing:
        queries.create_custom(system, event_type="Order", query="SELECT 1")
    assert timing.value.field == "frequency"
    with pytest.raises(InvalidInputError):
        queries.create_custom(system, event_type="Order", query="SELECT 1", run_at="every day")
    assert queries.list(system) == []
    assert app.queries.list(system).total == 0  # nothing left behind by the failures


def test_scheduled_queries_are_scoped_and_guarded(app: Openlytics, system: Principal) -> None:
    superadmin = Principal(system.org_id, None, Role.ADMIN, "user_key", is_superadmin=True)
    other = app.identity.create_organization(superadmin, name="Other", admin_email="o@example.test")
    other_admin = Principal(other.organization.id, other.admin.id, Role.ADMIN, "user_key")
    mine = app.scheduled_queries.create_custom(system, event_type="E", query="SELECT 1", frequency_hours=2)
    assert app.scheduled_queries.list(other_admin) == []
    with pytest.raises(NotFoundError):
        app.scheduled_queries.run(other_admin, mine.id)
    with pytest.raises(NotFoundError):
        app.scheduled_queries.remove(other_admin, mine.id)
    viewer = Principal(system.org_id, None, Role.VIEWER, "user_key")
    assert [q.id for q in app.scheduled_queries.list(viewer)] == [mine.id]
    with pytest.raises(PermissionDeniedError):
        app.scheduled_queries.create_custom(viewer, event_type="E", query="SELECT 1", frequency_hours=2)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    name = f"sq_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        engine.dispose()


def test_on_a_postgresql_output_the_default_query_runs_there(
    app: Openlytics, system: Principal, pg_schema: str
) -> None:
    url = sa.make_url(POSTGRES_URL)
    configuration = {
        "hostname": url.host,
        "port": url.port or 5432,
        "databaseName": url.database,
        "username": url.username,
        "password": "pw",
        "schemaName": pg_schema,
    }
    app.pipeline_outputs.set(system, type="REDSHIFT", configuration=configuration)
    app.output_tables.create(system, "orders", ORDER_COLUMNS)
    # PostgreSQL enforces the primary key (Redshift does not), so the keys here are distinct already.
    t = [datetime(2026, 1, 1, h) for h in range(2)]
    batch = pa.table({"id": [1, 2], "status": ["paid", "new"], "_metadata__received_at": t})
    app.pipeline_outputs.sink(system.org_id).load(None, "orders", batch)
    map_event_type(app, system.org_id, "Order", "orders", pg_schema)

    created = app.scheduled_queries.create_default(system, {"event_type": "Order", "run_at": "0 * * * *"})
    query = app.queries.get(system, created.query_id)
    assert query.data_source_id == app.pipeline_outputs.data_source(system).id
    assert wait_for(app, system, app.scheduled_queries.run(system, created.id)) is JobStatus.SUCCESS
    engine = sa.create_engine(POSTGRES_URL)
    with engine.connect() as conn:
        got = conn.exec_driver_sql(f'SELECT id, status FROM "{pg_schema}".orders_consolidated ORDER BY id')
        assert [tuple(r) for r in got] == [(1, "paid"), (2, "new")]
    engine.dispose()

    # Back to the warehouse: the scheduled query follows the output.
    app.pipeline_outputs.set(system, type="REDSHIFT", configuration={"target": "warehouse"})
    assert app.queries.get(system, created.query_id).data_source_id == app.sources.default(system).id
