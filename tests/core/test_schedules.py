"""ScheduleService and the due-time arithmetic, on SQLite and PostgreSQL metadata."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import sqlalchemy as sa

from openlytics.api.serializers import run_to_dict, schedule_to_dict
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.principal import Principal, Role
from openlytics.core.schedules import ScheduleService, Timing, last_due, next_due
from openlytics.store.db import Database
from openlytics.store.models import Organization, ScheduleRun

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- due times (pure) ---------------------------------------------------------------------------


def test_interval_due_times_form_a_fixed_grid_from_starts_at() -> None:
    timing = Timing(interval_seconds=600, starts_at=utc(2026, 1, 5, 12, 0))
    assert next_due(timing, utc(2026, 1, 5, 11, 0)) == utc(2026, 1, 5, 12, 0)
    assert next_due(timing, utc(2026, 1, 5, 12, 0)) == utc(2026, 1, 5, 12, 10)
    # A late firing does not shift the grid.
    assert next_due(timing, utc(2026, 1, 5, 12, 17, 42)) == utc(2026, 1, 5, 12, 20)


def test_interval_without_starts_at_is_anchored_on_created_at_to_the_second() -> None:
    created = datetime(2026, 1, 5, 12, 0, 7, 250_000, tzinfo=UTC)
    timing = Timing(interval_seconds=60, created_at=created)
    assert next_due(timing, created) == utc(2026, 1, 5, 12, 1, 7)
    assert last_due(timing, created) is None  # no firing at creation
    assert last_due(timing, utc(2026, 1, 5, 12, 30)) == utc(2026, 1, 5, 12, 29, 7)


def test_interval_is_elapsed_time_regardless_of_time_zone_changes() -> None:
    timing = Timing(interval_seconds=86_400, timezone="Europe/Paris", starts_at=utc(2026, 3, 28, 8))
    assert next_due(timing, utc(2026, 3, 28, 8)) == utc(2026, 3, 29, 8)


def test_cron_is_evaluated_on_the_wall_clock_of_the_time_zone() -> None:
    paris = Timing(cron="0 9 * * *", timezone="Europe/Paris")
    assert next_due(paris, utc(2026, 1, 5, 0)) == utc(2026, 1, 5, 8)  # CET, UTC+1
    assert next_due(paris, utc(2026, 7, 5, 0)) == utc(2026, 7, 5, 7)  # CEST, UTC+2
    new_york = Timing(cron="0 9 * * 1", timezone="America/New_York")
    assert next_due(new_york, utc(2026, 1, 1, 0)) == utc(2026, 1, 5, 14)


def test_cron_keeps_its_local_time_across_the_spring_dst_change() -> None:
    timing = Timing(cron="0 9 * * *", timezone="Europe/Paris")
    dues = _walk(timing, utc(2026, 3, 28, 0), 3)
    assert dues == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]


def test_cron_wall_time_skipped_by_spring_forward_fires_at_the_jump() -> None:
    # Europe/Paris, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 never happens.
    timing = Timing(cron="30 2 * * *", timezone="Europe/Paris")
    dues = _walk(timing, utc(2026, 3, 28, 0), 3)
    assert dues == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]


def test_cron_wall_times_in_the_skipped_hour_fire_once_at_the_jump() -> None:
    timing = Timing(cron="*/30 1-3 * * *", timezone="Europe/Paris")
    dues = _walk(timing, utc(2026, 3, 28, 23), 5)
    # 01:00, 01:30 CET; 02:00, 02:30 (skipped) and 03:00 CEST all at the jump; 03:30 CEST.
    assert dues == [
        utc(2026, 3, 29, 0, 0),
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 23, 0),
    ]


def test_cron_wall_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() -> None:
    # Europe/Paris, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
    timing = Timing(cron="30 2 * * *", timezone="Europe/Paris")
    dues = _walk(timing, utc(2026, 10, 24, 0), 3)
    assert dues == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_cron_does_not_fire_again_during_the_repeated_hour() -> None:
    timing = Timing(cron="*/20 * * * *", timezone="Europe/Paris")
    dues = _walk(timing, utc(2026, 10, 25, 0, 30), 3)
    # 02:40 CEST, then the wall clock repeats 02:00-02:59 (already fired), then 03:00 CET.
    assert dues == [utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 20)]
    inside_repeat = utc(2026, 10, 25, 1, 10)  # 02:10 CET, second pass
    assert last_due(timing, inside_repeat) == utc(2026, 10, 25, 0, 40)
    assert next_due(timing, inside_repeat) == utc(2026, 10, 25, 2, 0)


@pytest.mark.parametrize(
    ("cron", "zone", "start"),
    [
        ("*/20 * * * *", "Europe/Paris", utc(2026, 3, 28, 22)),
        ("*/20 * * * *", "Europe/Paris", utc(2026, 10, 24, 22)),
        ("15,45 1-3 * * *", "America/New_York", utc(2026, 3, 8, 4)),
        ("15,45 1-3 * * *", "America/New_York", utc(2026, 11, 1, 4)),
        ("*/15 1-3 * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 12)),  # a 30-minute DST shift
        ("0 0 * * 0", "UTC", utc(2026, 1, 1)),
    ],
)
def test_last_due_and_next_due_agree_on_the_same_sequence(cron: str, zone: str, start: datetime) -> None:
    timing = Timing(cron=cron, timezone=zone)
    dues = _walk(timing, start, 30)
    assert dues == sorted(set(dues))
    for previous, due in pairwise(dues):
        assert last_due(timing, due) == due
        assert last_due(timing, due - timedelta(microseconds=1)) == previous
        assert last_due(timing, previous + (due - previous) / 2) == previous


def test_cron_starts_at_is_the_earliest_due_time() -> None:
    timing = Timing(cron="0 * * * *", starts_at=utc(2026, 1, 5, 12, 30))
    assert next_due(timing, utc(2026, 1, 1)) == utc(2026, 1, 5, 13)
    assert last_due(timing, utc(2026, 1, 5, 12, 45)) is None
    on_the_hour = Timing(cron="0 * * * *", starts_at=utc(2026, 1, 5, 12))
    assert next_due(on_the_hour, utc(2026, 1, 1)) == utc(2026, 1, 5, 12)


def test_no_due_time_after_until_and_until_itself_is_due() -> None:
    timing = Timing(interval_seconds=3600, starts_at=utc(2026, 1, 5, 10), until=utc(2026, 1, 5, 12))
    assert next_due(timing, utc(2026, 1, 5, 11, 30)) == utc(2026, 1, 5, 12)
    assert next_due(timing, utc(2026, 1, 5, 12)) is None
    assert last_due(timing, utc(2026, 1, 9)) == utc(2026, 1, 5, 12)
    cron = Timing(cron="0 * * * *", until=utc(2026, 1, 5, 12, 30))
    assert next_due(cron, utc(2026, 1, 5, 12)) is None
    assert last_due(cron, utc(2026, 1, 9)) == utc(2026, 1, 5, 12)


def _walk(timing: Timing, after: datetime, count: int) -> list[datetime]:
    dues = []
    for _ in range(count):
        due = next_due(timing, after)
        assert due is not None
        dues.append(due)
        after = due
    return dues


# --- the service --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Database]:
    """An empty, migrated metadata store."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'metadata.db'}")
        database.migrate()
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        with database.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE organizations RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Orgs:
    editor: Principal
    viewer: Principal
    query_key: Principal
    other: Principal


@pytest.fixture
def orgs(db: Database) -> Orgs:
    with db.session() as session:
        first = Organization(name="First", slug="first")
        second = Organization(name="Second", slug="second")
        session.add_all([first, second])
    return Orgs(
        editor=Principal(org_id=first.id, user_id=None, role=Role.EDITOR, credential="user_key"),
        viewer=Principal(org_id=first.id, user_id=None, role=Role.VIEWER, credential="user_key"),
        query_key=Principal(
            org_id=first.id, user_id=None, role=Role.VIEWER, credential="query_key", query_scope=1
        ),
        other=Principal(org_id=second.id, user_id=None, role=Role.EDITOR, credential="user_key"),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db: Database, clock: Clock) -> ScheduleService:
    return ScheduleService(db, known_kinds=lambda: {"query_refresh"}, clock=clock)


def test_create_sets_the_first_due_time_of_an_interval(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(
        orgs.editor, kind="query_refresh", target_id=1, interval_seconds=300, name="five"
    )
    assert schedule.id is not None
    assert schedule.org_id == orgs.editor.org_id
    assert schedule.created_at == T0
    assert schedule.next_run_at == T0 + timedelta(seconds=300)
    assert service.get(orgs.editor, schedule.id).next_run_at == T0 + timedelta(seconds=300)


def test_schedule_starting_now_is_due_now(service: ScheduleService, orgs: Orgs) -> None:
    interval = service.create(
        orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60, starts_at=T0
    )
    cron = service.create(orgs.editor, kind="query_refresh", target_id=1, cron="0 12 * * *")
    assert interval.next_run_at == T0
    assert cron.next_run_at == T0


def test_create_sets_the_first_due_time_of_a_cron_in_its_time_zone(
    service: ScheduleService, orgs: Orgs
) -> None:
    schedule = service.create(
        orgs.editor, kind="query_refresh", target_id=1, cron="  0   9 * * *", timezone="Europe/Paris"
    )
    assert schedule.cron == "0 9 * * *"
    assert schedule.next_run_at == utc(2026, 1, 6, 8)


def test_create_accepts_iso_text_and_reads_naive_times_as_utc(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(
        orgs.editor,
        kind="query_refresh",
        target_id=1,
        interval_seconds=60,
        starts_at="2026-02-01T00:00:00Z",
        until=datetime(2026, 3, 1),
    )
    assert schedule.starts_at == utc(2026, 2, 1)
    assert schedule.until == utc(2026, 3, 1)
    assert schedule.next_run_at == utc(2026, 2, 1)


def test_disabled_schedule_has_no_next_run_at(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(
        orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60, enabled=False
    )
    assert schedule.next_run_at is None


def test_schedule_ending_in_the_past_has_no_next_run_at(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(
        orgs.editor, kind="query_refresh", target_id=1, cron="0 * * * *", until=T0 - timedelta(days=1)
    )
    assert schedule.next_run_at is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "interval_seconds"),
        ({"interval_seconds": 60, "cron": "* * * * *"}, "interval_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"interval_seconds": 2**31}, "interval_seconds"),
        ({"interval_seconds": 1.5}, "interval_seconds"),
        ({"interval_seconds": True}, "interval_seconds"),
        ({"cron": "0 9 * *"}, "cron"),
        ({"cron": "0 0 9 * * *"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "@daily"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),
        ({"interval_seconds": 60, "timezone": "Mars/Olympus"}, "timezone"),
        ({"interval_seconds": 60, "timezone": "europe/paris"}, "timezone"),
        ({"interval_seconds": 60, "timezone": ""}, "timezone"),
        ({"interval_seconds": 60, "starts_at": utc(2026, 2, 1), "until": utc(2026, 2, 1)}, "until"),
        ({"interval_seconds": 60, "starts_at": utc(2026, 2, 1), "until": utc(2026, 1, 1)}, "until"),
        ({"interval_seconds": 60, "starts_at": "next tuesday"}, "starts_at"),
        ({"interval_seconds": 60, "kind": "email_report"}, "kind"),
        ({"interval_seconds": 60, "kind": ""}, "kind"),
        ({"interval_seconds": 60, "target_id": 0}, "target_id"),
        ({"interval_seconds": 60, "payload": ["not", "an", "object"]}, "payload"),
        ({"interval_seconds": 60, "name": "x" * 256}, "name"),
    ],
)
def test_create_rejects_invalid_fields(
    service: ScheduleService, orgs: Orgs, changes: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"kind": "query_refresh", "target_id": 1} | changes
    with pytest.raises(InvalidInputError) as raised:
        service.create(orgs.editor, **arguments)
    assert raised.value.field == field
    listed = service.list(orgs.editor)
    assert (listed.items, listed.total) == ([], 0)


def test_any_kind_is_accepted_without_a_known_kinds_list(db: Database, orgs: Orgs) -> None:
    schedule = ScheduleService(db).create(orgs.editor, kind="anything", target_id=1, interval_seconds=60)
    assert schedule.kind == "anything"


def test_update_of_timing_recomputes_next_run_at_from_now(
    service: ScheduleService, orgs: Orgs, clock: Clock
) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    clock.now = T0 + timedelta(hours=5, seconds=30)
    updated = service.update(orgs.editor, schedule.id, interval_seconds=3600)
    assert updated.next_run_at == T0 + timedelta(hours=6)
    assert service.get(orgs.editor, schedule.id).next_run_at == T0 + timedelta(hours=6)


def test_update_of_other_fields_keeps_next_run_at(service: ScheduleService, orgs: Orgs, clock: Clock) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    clock.now = T0 + timedelta(hours=5)
    updated = service.update(orgs.editor, schedule.id, name="renamed", payload={"parameters": {"x": 1}})
    assert (updated.name, updated.payload) == ("renamed", {"parameters": {"x": 1}})
    assert updated.next_run_at == T0 + timedelta(seconds=60)


def test_update_to_cron_clears_the_interval(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    updated = service.update(orgs.editor, schedule.id, cron="0 18 * * *", timezone="Europe/Paris")
    assert (updated.interval_seconds, updated.cron) == (None, "0 18 * * *")
    assert updated.next_run_at == utc(2026, 1, 5, 17)
    back = service.update(orgs.editor, schedule.id, interval_seconds=120)
    assert (back.interval_seconds, back.cron) == (120, None)


def test_update_validates_the_merged_schedule(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(
        orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60, starts_at=utc(2026, 2, 1)
    )
    with pytest.raises(InvalidInputError) as raised:
        service.update(orgs.editor, schedule.id, until=utc(2026, 1, 1))
    assert raised.value.field == "until"
    with pytest.raises(InvalidInputError) as raised:
        service.update(orgs.editor, schedule.id, interval_seconds=None)
    assert raised.value.field == "interval_seconds"
    with pytest.raises(InvalidInputError) as raised:
        service.update(orgs.editor, schedule.id, org_id=2)
    assert raised.value.field == "org_id"
    assert service.get(orgs.editor, schedule.id).until is None


def test_stored_kind_stays_valid_when_its_handler_is_gone(db: Database, orgs: Orgs) -> None:
    kinds = {"query_refresh", "legacy"}
    service = ScheduleService(db, known_kinds=lambda: set(kinds))
    schedule = service.create(orgs.editor, kind="legacy", target_id=1, interval_seconds=60)
    kinds.discard("legacy")
    assert service.update(orgs.editor, schedule.id, name="still here").name == "still here"
    with pytest.raises(InvalidInputError):
        service.update(orgs.editor, schedule.id, kind="legacy")


def test_disabling_clears_next_run_at_and_enabling_resumes_from_now(
    service: ScheduleService, orgs: Orgs, clock: Clock
) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    assert service.update(orgs.editor, schedule.id, enabled=False).next_run_at is None
    clock.now = T0 + timedelta(days=1, seconds=10)
    assert service.update(orgs.editor, schedule.id, enabled=True).next_run_at == T0 + timedelta(
        days=1, minutes=1
    )


def test_delete_removes_the_schedule_and_its_runs(service: ScheduleService, orgs: Orgs, db: Database) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    with db.session() as session:
        session.add(ScheduleRun(schedule_id=schedule.id, due_at=T0, fired_at=T0))
    service.delete(orgs.editor, schedule.id)
    with pytest.raises(NotFoundError):
        service.get(orgs.editor, schedule.id)
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ScheduleRun)) == 0


def test_list_pages_through_the_organization_s_schedules_only(service: ScheduleService, orgs: Orgs) -> None:
    mine = [
        service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60, name=f"s{i}").id
        for i in range(5)
    ]
    service.create(orgs.other, kind="query_refresh", target_id=1, interval_seconds=60)
    first_page = service.list(orgs.editor, page=1, per_page=2)
    first, total = first_page.items, first_page.total
    third = service.list(orgs.editor, page=3, per_page=2).items
    assert total == 5
    assert [s.id for s in first] == mine[:2]
    assert [s.id for s in third] == mine[4:]
    assert service.list(orgs.other).total == 1


def test_schedule_of_another_organization_is_not_found(service: ScheduleService, orgs: Orgs) -> None:
    theirs = service.create(orgs.other, kind="query_refresh", target_id=1, interval_seconds=60)
    for attempt in (
        lambda: service.get(orgs.editor, theirs.id),
        lambda: service.update(orgs.editor, theirs.id, name="mine now"),
        lambda: service.delete(orgs.editor, theirs.id),
        lambda: service.runs(orgs.editor, theirs.id),
    ):
        with pytest.raises(NotFoundError) as raised:
            attempt()
        assert (raised.value.kind, raised.value.id) == ("schedule", theirs.id)
    assert service.get(orgs.other, theirs.id).name == ""


def test_viewer_reads_schedules_but_cannot_change_them(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    assert service.get(orgs.viewer, schedule.id).id == schedule.id
    listed = service.runs(orgs.viewer, schedule.id)
    assert (listed.items, listed.total) == ([], 0)
    for attempt in (
        lambda: service.create(orgs.viewer, kind="query_refresh", target_id=1, interval_seconds=60),
        lambda: service.update(orgs.viewer, schedule.id, name="x"),
        lambda: service.delete(orgs.viewer, schedule.id),
    ):
        with pytest.raises(PermissionDeniedError):
            attempt()


def test_query_key_cannot_see_schedules(service: ScheduleService, orgs: Orgs) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    with pytest.raises(PermissionDeniedError):
        service.list(orgs.query_key)
    with pytest.raises(PermissionDeniedError):
        service.get(orgs.query_key, schedule.id)


def test_runs_are_listed_newest_first(service: ScheduleService, orgs: Orgs, db: Database) -> None:
    schedule = service.create(orgs.editor, kind="query_refresh", target_id=1, interval_seconds=60)
    with db.session() as session:
        for minute in (1, 3, 2):
            due = T0 + timedelta(minutes=minute)
            session.add(ScheduleRun(schedule_id=schedule.id, due_at=due, fired_at=due))
    runs_page = service.runs(orgs.editor, schedule.id, page=1, per_page=2)
    runs, total = runs_page.items, runs_page.total
    assert total == 3
    assert [r.due_at for r in runs] == [T0 + timedelta(minutes=3), T0 + timedelta(minutes=2)]


def test_dicts_have_the_api_shape_with_utc_z_times(
    service: ScheduleService, orgs: Orgs, db: Database
) -> None:
    schedule = service.create(
        orgs.editor,
        kind="query_refresh",
        target_id=7,
        cron="0 9 * * *",
        timezone="Europe/Paris",
        payload={"parameters": {"country": "FR"}},
        name="morning",
    )
    assert schedule_to_dict(schedule) == {
        "id": schedule.id,
        "uuid": str(schedule.uuid),
        "name": "morning",
        "kind": "query_refresh",
        "target_id": 7,
        "interval_seconds": None,
        "cron": "0 9 * * *",
        "timezone": "Europe/Paris",
        "starts_at": None,
        "until": None,
        "enabled": True,
        "next_run_at": "2026-01-06T08:00:00Z",
        "last_run_at": None,
        "payload": {"parameters": {"country": "FR"}},
        "created_at": "2026-01-05T12:00:00Z",
    }
    with db.session() as session:
        run = ScheduleRun(
            schedule_id=schedule.id, due_at=T0, fired_at=T0 + timedelta(microseconds=5), manual=True
        )
        session.add(run)
    assert run_to_dict(run) == {
        "id": run.id,
        "schedule_id": schedule.id,
        "due_at": "2026-01-05T12:00:00Z",
        "fired_at": "2026-01-05T12:00:00.000005Z",
        "manual": True,
        "job_id": None,
        "error": None,
    }
