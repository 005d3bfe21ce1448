"""The scheduler against real SQLite files and a real PostgreSQL database; time comes from a fake clock."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openlytics.core.errors import NotFoundError, PermissionDeniedError
from openlytics.core.principal import Principal, Role
from openlytics.core.schedules import ScheduleService
from openlytics.runtime.scheduler import Handler, Scheduler
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Job, Organization, Schedule, ScheduleRun

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The URL of an empty, migrated metadata store."""
    if request.param == "sqlite":
        sqlite_url = f"sqlite:///{tmp_path / 'metadata.db'}"
        database = Database(sqlite_url)
        database.migrate()
        database.dispose()
        return sqlite_url
    postgres: str = request.getfixturevalue("postgres_url")
    database = Database(postgres)
    with database.engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE organizations RESTART IDENTITY CASCADE"))
    database.dispose()
    return postgres


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database(url)
    yield database
    database.dispose()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    """Two organizations, an editor in each, and a data source for the jobs handlers create."""

    editor: Principal
    viewer: Principal
    other: Principal
    data_source_id: int
    schedules: ScheduleService


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(db: Database, clock: Clock) -> World:
    with db.session() as session:
        first = Organization(name="First", slug="first")
        second = Organization(name="Second", slug="second")
        session.add_all([first, second])
        session.flush()
        source = DataSource(org_id=first.id, name="warehouse", kind="warehouse")
        session.add(source)
    return World(
        editor=Principal(org_id=first.id, user_id=None, role=Role.EDITOR, credential="user_key"),
        viewer=Principal(org_id=first.id, user_id=None, role=Role.VIEWER, credential="user_key"),
        other=Principal(org_id=second.id, user_id=None, role=Role.EDITOR, credential="user_key"),
        data_source_id=source.id,
        schedules=ScheduleService(db, clock=clock),
    )


@dataclass
class Recorder:
    """A handler that records its calls and submits a real job row, as a query refresh would."""

    db: Database
    data_source_id: int
    calls: list[tuple[int, datetime, bool]] = field(default_factory=list)

    def __call__(self, schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        self.calls.append((schedule.id, due_at, manual))
        with self.db.session() as session:
            job = Job(
                org_id=schedule.org_id,
                data_source_id=self.data_source_id,
                schedule_id=schedule.id,
                query_hash="0" * 64,
                sql_text="select 1",
            )
            session.add(job)
        return job.id


@pytest.fixture
def recorder(db: Database, world: World) -> Recorder:
    return Recorder(db, world.data_source_id)


def every_minute(world: World, **fields: Any) -> Schedule:
    return world.schedules.create(
        world.editor, kind="query_refresh", target_id=1, interval_seconds=60, starts_at=T0, **fields
    )


def stored(db: Database, schedule_id: int) -> Schedule:
    with db.session() as session:
        schedule = session.get(Schedule, schedule_id)
        assert schedule is not None
        return schedule


def runs_of(db: Database, schedule_id: int) -> list[ScheduleRun]:
    with db.session() as session:
        stmt = sa.select(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id).order_by(ScheduleRun.id)
        return list(session.scalars(stmt))


def test_due_schedule_fires_once_and_moves_to_its_next_due_time(
    db: Database, world: World, recorder: Recorder
) -> None:
    schedule = every_minute(world)
    scheduler = Scheduler(db, {"query_refresh": recorder})
    [run] = scheduler.tick(T0 + timedelta(seconds=5))
    assert (run.schedule_id, run.due_at, run.fired_at, run.manual) == (
        schedule.id,
        T0,
        T0 + timedelta(seconds=5),
        False,
    )
    assert run.job_id is not None and run.error is None
    assert recorder.calls == [(schedule.id, T0, False)]
    assert scheduler.tick(T0 + timedelta(seconds=6)) == []
    after = stored(db, schedule.id)
    assert after.next_run_at == T0 + MINUTE
    assert after.last_run_at == T0 + timedelta(seconds=5)
    assert [(r.id, r.job_id) for r in runs_of(db, schedule.id)] == [(run.id, run.job_id)]


def test_nothing_fires_before_the_due_time(db: Database, world: World, recorder: Recorder) -> None:
    every_minute(world)
    assert Scheduler(db, {"query_refresh": recorder}).tick(T0 - timedelta(microseconds=1)) == []
    assert recorder.calls == []


def test_due_times_missed_during_downtime_fire_once_at_the_latest(
    db: Database, world: World, recorder: Recorder
) -> None:
    schedule = every_minute(world)
    scheduler = Scheduler(db, {"query_refresh": recorder})
    [run] = scheduler.tick(T0 + timedelta(minutes=90, seconds=30))
    assert run.due_at == T0 + timedelta(minutes=90)
    assert stored(db, schedule.id).next_run_at == T0 + timedelta(minutes=91)
    assert len(runs_of(db, schedule.id)) == 1


def test_missed_cron_due_times_coalesce_in_the_schedule_time_zone(
    db: Database, world: World, recorder: Recorder
) -> None:
    schedule = world.schedules.create(
        world.editor, kind="query_refresh", target_id=1, cron="0 9 * * *", timezone="Europe/Paris"
    )
    assert schedule.next_run_at == datetime(2026, 1, 6, 8, tzinfo=UTC)
    # Down from January to a summer afternoon: one run, for this morning's 09:00 CEST.
    [run] = Scheduler(db, {"query_refresh": recorder}).tick(datetime(2026, 7, 1, 15, tzinfo=UTC))
    assert run.due_at == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert stored(db, schedule.id).next_run_at == datetime(2026, 7, 2, 7, tzinfo=UTC)


def test_schedule_stops_after_until(db: Database, world: World, recorder: Recorder) -> None:
    schedule = every_minute(world, until=T0 + timedelta(minutes=2))
    scheduler = Scheduler(db, {"query_refresh": recorder})
    assert [r.due_at for r in scheduler.tick(T0 + MINUTE)] == [T0 + MINUTE]
    # Down past `until`: the last due time before it still fires, once.
    assert [r.due_at for r in scheduler.tick(T0 + timedelta(hours=1))] == [T0 + 2 * MINUTE]
    after = stored(db, schedule.id)
    assert after.next_run_at is None
    assert after.enabled is True
    assert scheduler.tick(T0 + timedelta(days=1)) == []


def test_disabled_schedule_does_not_fire(db: Database, world: World, recorder: Recorder) -> None:
    schedule = every_minute(world)
    world.schedules.update(world.editor, schedule.id, enabled=False)
    assert Scheduler(db, {"query_refresh": recorder}).tick(T0 + timedelta(hours=1)) == []


def test_handler_error_is_recorded_and_other_schedules_still_fire(
    db: Database, world: World, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    failing = every_minute(world, name="failing")
    healthy = every_minute(world, name="healthy")

    def handler(schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        if schedule.id == failing.id:
            raise RuntimeError("warehouse is on fire")
        return recorder(schedule, due_at, manual)

    runs = Scheduler(db, {"query_refresh": handler}).tick(T0)
    by_schedule = {r.schedule_id: r for r in runs}
    assert by_schedule[failing.id].error == "RuntimeError: warehouse is on fire"
    assert by_schedule[failing.id].job_id is None
    assert by_schedule[healthy.id].error is None and by_schedule[healthy.id].job_id is not None
    assert runs_of(db, failing.id)[0].error == "RuntimeError: warehouse is on fire"
    assert "warehouse is on fire" in caplog.text
    # The failed due time is spent; the schedule carries on.
    assert stored(db, failing.id).next_run_at == T0 + MINUTE


def test_schedule_without_a_handler_records_the_error(db: Database, world: World) -> None:
    schedule = world.schedules.create(world.editor, kind="email_report", target_id=1, interval_seconds=60)
    [run] = Scheduler(db, {}).tick(T0 + MINUTE)
    assert run.error == "no handler for schedule kind 'email_report'"
    assert runs_of(db, schedule.id)[0].error == run.error


def test_restarted_scheduler_does_not_refire_a_claimed_due_time(
    url: str, db: Database, world: World, recorder: Recorder
) -> None:
    schedule = every_minute(world)

    def dies_mid_run(schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        raise SystemExit("process killed after claiming")

    with pytest.raises(SystemExit):
        Scheduler(db, {"query_refresh": dies_mid_run}).tick(T0)
    restarted_db = Database(url)
    try:
        restarted = Scheduler(restarted_db, {"query_refresh": recorder})
        assert restarted.tick(T0) == []
        assert restarted.tick(T0 + timedelta(seconds=59)) == []
        assert [r.due_at for r in restarted.tick(T0 + MINUTE)] == [T0 + MINUTE]
    finally:
        restarted_db.dispose()
    [unfinished, finished] = runs_of(db, schedule.id)
    assert (unfinished.due_at, unfinished.job_id, unfinished.error) == (T0, None, None)
    assert finished.job_id is not None


@pytest.mark.parametrize("rounds", [25])
def test_two_schedulers_fire_each_due_time_exactly_once(url: str, world: World, rounds: int) -> None:
    schedule_ids = {every_minute(world, name=f"s{i}").id for i in range(8)}
    calls: Counter[tuple[int, datetime]] = Counter()
    lock = threading.Lock()

    def handler(schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        with lock:
            calls[(schedule.id, due_at)] += 1
        return None

    databases = [Database(url), Database(url)]
    schedulers = [Scheduler(database, {"query_refresh": handler}) for database in databases]
    barrier = threading.Barrier(len(schedulers))
    claimed: list[list[ScheduleRun]] = [[] for _ in schedulers]
    failures: list[BaseException] = []

    def race(index: int) -> None:
        try:
            for i in range(rounds):
                barrier.wait()
                claimed[index].extend(schedulers[index].tick(T0 + i * MINUTE + timedelta(seconds=1)))
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(schedulers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.dispose()

    assert failures == []
    expected = {(s, T0 + i * MINUTE) for s in schedule_ids for i in range(rounds)}
    assert set(calls) == expected
    assert set(calls.values()) == {1}
    fired = [(r.schedule_id, r.due_at) for runs in claimed for r in runs]
    assert sorted(fired) == sorted(expected)


def test_trigger_fires_a_manual_run_without_moving_next_run_at(
    db: Database, world: World, recorder: Recorder, clock: Clock
) -> None:
    schedule = every_minute(world)
    scheduler = Scheduler(db, {"query_refresh": recorder}, clock=clock)
    clock.now = T0 + timedelta(seconds=20)
    run = scheduler.trigger(world.editor, schedule.id)
    assert (run.due_at, run.fired_at, run.manual) == (clock.now, clock.now, True)
    assert run.job_id is not None
    assert recorder.calls == [(schedule.id, clock.now, True)]
    after = stored(db, schedule.id)
    assert after.next_run_at == T0
    assert after.last_run_at == clock.now
    # The scheduled due time still fires on its own.
    assert [r.due_at for r in scheduler.tick(T0 + timedelta(seconds=30))] == [T0]


def test_trigger_works_on_a_disabled_schedule(
    db: Database, world: World, recorder: Recorder, clock: Clock
) -> None:
    schedule = every_minute(world, enabled=False)
    run = Scheduler(db, {"query_refresh": recorder}, clock=clock).trigger(world.editor, schedule.id)
    assert run.manual and run.job_id is not None
    assert stored(db, schedule.id).next_run_at is None


def test_trigger_records_a_handler_error_on_the_run(db: Database, world: World, clock: Clock) -> None:
    schedule = every_minute(world)

    def handler(schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        raise ValueError("no such query")

    run = Scheduler(db, {"query_refresh": handler}, clock=clock).trigger(world.editor, schedule.id)
    assert run.error == "ValueError: no such query"
    assert runs_of(db, schedule.id)[0].error == "ValueError: no such query"


def test_due_time_already_fired_by_a_trigger_at_that_instant_is_not_fired_again(
    db: Database, world: World, recorder: Recorder, clock: Clock
) -> None:
    schedule = every_minute(world)
    scheduler = Scheduler(db, {"query_refresh": recorder}, clock=clock)
    scheduler.trigger(world.editor, schedule.id)  # at T0, exactly the first due time
    assert scheduler.tick(T0) == []
    assert stored(db, schedule.id).next_run_at == T0 + MINUTE
    assert [(r.due_at, r.manual) for r in runs_of(db, schedule.id)] == [(T0, True)]
    assert len(recorder.calls) == 1


def test_trigger_needs_write_permission_and_the_same_organization(
    db: Database, world: World, recorder: Recorder
) -> None:
    schedule = every_minute(world)
    scheduler = Scheduler(db, {"query_refresh": recorder})
    with pytest.raises(PermissionDeniedError):
        scheduler.trigger(world.viewer, schedule.id)
    with pytest.raises(NotFoundError):
        scheduler.trigger(world.other, schedule.id)
    assert recorder.calls == []
    assert runs_of(db, schedule.id) == []


def test_tick_fires_schedules_of_every_organization(db: Database, world: World, recorder: Recorder) -> None:
    mine = every_minute(world)
    theirs = world.schedules.create(world.other, kind="query_refresh", target_id=1, interval_seconds=60)
    fired = Scheduler(db, {"query_refresh": lambda s, d, m: None}).tick(T0 + timedelta(hours=1))
    assert {r.schedule_id for r in fired} == {mine.id, theirs.id}


def test_handler_runs_outside_any_transaction(url: str, db: Database, world: World) -> None:
    schedule = every_minute(world)
    seen: list[int] = []

    def handler(schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        if db.is_sqlite:
            # A write lock held by the scheduler would make this fail at once (timeout=0).
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.rollback()
            finally:
                conn.close()
            seen.append(0)
        else:
            with db.engine.connect() as conn:
                open_transactions = conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%'"
                    )
                )
            seen.append(int(open_transactions or 0))
        return None

    scheduler = Scheduler(db, {"query_refresh": handler})
    [run] = scheduler.tick(T0)
    assert run.error is None
    scheduler.trigger(world.editor, schedule.id)
    assert seen == [0, 0]


def test_started_scheduler_fires_in_its_thread_and_stops_on_request(db: Database, world: World) -> None:
    schedule = every_minute(world)
    fired = threading.Event()

    def handler(s: Schedule, due_at: datetime, manual: bool) -> int | None:
        fired.set()
        return None

    # A poll period of an hour: only an Event-based wait lets stop() return before it ends.
    scheduler = Scheduler(db, {"query_refresh": handler}, poll_seconds=3600, clock=lambda: T0)
    scheduler.start()
    assert fired.wait(timeout=60)
    assert scheduler.running
    scheduler.stop()
    assert not scheduler.running
    assert [r.due_at for r in runs_of(db, schedule.id)] == [T0]


def test_polling_survives_failing_handlers(db: Database, world: World) -> None:
    every_minute(world)
    times = iter(T0 + i * MINUTE for i in range(10_000))
    calls: list[datetime] = []
    second_call = threading.Event()

    def handler(s: Schedule, due_at: datetime, manual: bool) -> int | None:
        calls.append(due_at)
        if len(calls) >= 2:
            second_call.set()
        raise RuntimeError("boom")

    handlers: dict[str, Handler] = {"query_refresh": handler}
    scheduler = Scheduler(db, handlers, poll_seconds=0.01, clock=lambda: next(times))
    scheduler.start()
    try:
        assert second_call.wait(timeout=60)
    finally:
        scheduler.stop()
    assert calls[:2] == [T0, T0 + MINUTE]
