"""The activity log: buffered, written in bulk, purged; a store failure never reaches the caller."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.store.db import Database
from openlytics.store.models import ActivityEvent, Organization
from openlytics.store.types import utcnow
from tests.conftest import METADATA_BACKENDS, FreshPostgresDatabase


@pytest.fixture(params=METADATA_BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    pg = FreshPostgresDatabase.create() if request.param == "postgresql" else None
    database = Database(pg.url if pg else f"sqlite:///{tmp_path / 'meta.db'}")
    database.migrate()
    yield database
    database.dispose()
    if pg is not None:
        pg.drop()


def new_org(db: Database) -> int:
    with db.session() as s:
        org = Organization(name="Acme", slug=f"acme-{time.monotonic_ns()}")
        s.add(org)
        s.flush()
        return org.id


def stored(db: Database, org_id: int) -> list[ActivityEvent]:
    with db.session() as s:
        return list(s.scalars(sa.select(ActivityEvent).where(ActivityEvent.org_id == org_id)))


def test_events_wait_in_the_buffer_until_flushed_in_one_bulk_insert(db: Database) -> None:
    org = new_org(db)
    log = ActivityLog(db, flush_seconds=60)
    for i in range(50):
        log.record(org, None, ActivityKind.API_CALL, channel="native", object_id=i)
    assert stored(db, org) == [] and log.pending() == 50

    inserts: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ACTIVITY_EVENTS"):
            inserts.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert log.flush() == 50
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    events = stored(db, org)
    assert len(events) == 50 and {e.kind for e in events} == {"api_call"}
    assert {e.channel for e in events} == {"native"} and log.pending() == 0
    assert log.flush() == 0


def test_a_full_buffer_is_written_at_once(db: Database) -> None:
    org = new_org(db)
    log = ActivityLog(db, flush_seconds=60, max_buffer=5)
    for _ in range(4):
        log.record(org, None, ActivityKind.QUERY_RUN, object_type="query", object_id=7)
    assert stored(db, org) == []
    log.record(org, None, ActivityKind.QUERY_RUN, object_type="query", object_id=7)
    assert len(stored(db, org)) == 5


def test_the_background_thread_writes_and_close_writes_the_rest(db: Database) -> None:
    org = new_org(db)
    log = ActivityLog(db, flush_seconds=0.05)
    log.start()
    try:
        log.record(org, None, ActivityKind.DASHBOARD_VIEW, object_type="dashboard", object_id=1)
        deadline = time.monotonic() + 10
        while not stored(db, org) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(stored(db, org)) == 1
    finally:
        log.close()

    slow = ActivityLog(db, flush_seconds=60)
    slow.start()
    for _ in range(3):
        slow.record(org, None, ActivityKind.SCRIPT_RUN)
    slow.close()
    assert len(stored(db, org)) == 4


def test_purge_deletes_only_events_older_than_the_cutoff(db: Database) -> None:
    org = new_org(db)
    log = ActivityLog(db)
    for _ in range(3):
        log.record(org, None, ActivityKind.API_CALL)
    log.flush()
    with db.session() as s:
        first_two = list(s.scalars(sa.select(ActivityEvent.id).order_by(ActivityEvent.id).limit(2)))
        s.execute(
            sa.update(ActivityEvent)
            .where(ActivityEvent.id.in_(first_two))
            .values(created_at=utcnow() - timedelta(days=500))
        )
    assert log.purge(utcnow() - timedelta(days=400)) == 2
    assert len(stored(db, org)) == 1


def test_a_store_failure_is_logged_not_raised_and_retried_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no tables yet: every write fails
    log = ActivityLog(db, flush_seconds=60, max_buffer=2)
    with caplog.at_level(logging.ERROR, logger="openlytics.core.activity"):
        log.record(1, None, ActivityKind.API_CALL)
        log.record(1, None, ActivityKind.API_CALL)  # full: written at once, and refused
    assert "could not write" in caplog.text
    assert log.pending() == 2  # kept for one more try

    db.migrate()
    org = new_org(db)
    assert org == 1  # the organization the refused events named
    log.record(org, None, ActivityKind.API_CALL)
    assert log.flush() == 3  # the refused batch made it on its second try
    db.dispose()


def test_a_batch_refused_twice_is_dropped(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    log = ActivityLog(db, flush_seconds=60)
    log.record(1, None, ActivityKind.API_CALL)
    assert log.flush() == 0 and log.pending() == 1
    assert log.flush() == 0 and log.pending() == 0
    assert log.dropped == 1
    db.dispose()


def test_a_successful_dataset_write_is_logged_and_a_failed_one_is_not(tmp_path: Path) -> None:
    from openlytics.app import Openlytics
    from openlytics.core.datasets.load_sources import LoadSource
    from openlytics.core.errors import InvalidInputError
    from openlytics.core.principal import Principal
    from tests.conftest import make_settings

    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    app = Openlytics(settings)
    app.start()
    try:
        system = Principal.system(app.identity.organizations()[0].id)
        dataset = app.datasets.create(system, name="loads", columns=[{"name": "n", "type": "int64"}])
        app.datasets.append(system, dataset.id, LoadSource.from_rows([{"n": 1}]))
        with pytest.raises(InvalidInputError):
            app.datasets.append(system, dataset.id, LoadSource.from_rows([{"n": "not a number"}]))
        app.activity.flush()
        with app.db.session() as s:
            loads = s.scalars(sa.select(ActivityEvent).where(ActivityEvent.kind == "dataset_load")).all()
        assert [(e.object_type, e.object_id) for e in loads] == [("dataset", dataset.id)]
    finally:
        app.stop()
        databases.drop()
