"""The scheduler: fires due schedules exactly once, however many scheduler processes share the store.

Claiming a due time is one short transaction: a compare-and-set moves `next_run_at` on
(`UPDATE ... WHERE id = :id AND next_run_at = :old`), and a `ScheduleRun` row is inserted for the due
time (unique per schedule and due time). A second claimer, in this process or another, loses the
compare-and-set or hits the unique constraint and skips. Handlers run after the commit, never inside a
transaction, and their job id or error is recorded on the run afterwards.

- Missed due times (the server was down, or the poll fell behind) fire once, coalesced into the latest
  missed due time; `next_run_at` then moves to the first due time after now.
- A claimed run is not claimed again after a restart. If the process dies between the claim and the
  handler, the run stays without job id or error: handlers run at most once per due time.
- Past `until`, `next_run_at` becomes null and the schedule fires no more (`enabled` keeps its value,
  so extending `until` resumes it).
- Any number of processes may run a scheduler: only the leader (`runtime/leadership.py`: an advisory
  lock in PostgreSQL) polls; when it dies, another takes over on its next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from openlytics.core.errors import ConflictError
from openlytics.core.principal import Action, Principal
from openlytics.core.schedules import ScheduleService, Timing, last_due, next_due
from openlytics.runtime.leadership import Leadership, SoleLeadership
from openlytics.store.db import Database
from openlytics.store.models import Schedule, ScheduleRun
from openlytics.store.types import utcnow

logger = logging.getLogger(__name__)

# Gets (schedule, due_at, manual), does the work (e.g. submits a query refresh), returns a job id.
Handler = Callable[[Schedule, datetime, bool], int | None]


class Scheduler:
    """Polls the store for due schedules and hands each due time to the handler of its kind.

    Handlers run one after another in the polling thread, so they should submit work and return.
    """

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        poll_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 100,
        leadership: Leadership | None = None,
    ) -> None:
        self._db = db
        self._leadership = leadership or SoleLeadership()
        self._handlers = dict(handlers)
        self._clock = clock
        self._schedules = ScheduleService(db, clock=clock)
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        """Whether this process is the one that polls (asks the election)."""
        return self._leadership.is_leader()

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Poll in a daemon thread until `stop()`."""
        if self._thread is not None and self._thread.is_alive():
            if not self._stopping.is_set():
                return
            self._thread.join()  # a stop() that timed out: let that thread finish first
        self._stopping.clear()
        self._thread = threading.Thread(target=self._poll, name="openlytics-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling and wait for the thread (and a handler it is running) to finish."""
        self._stopping.set()
        if self._thread is None:
            self._leadership.release()
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning(
                "scheduler thread still busy after %s s; it stops after its current handler", timeout
            )
        else:
            self._thread = None
            self._leadership.release()

    def tick(self, now: datetime | None = None) -> list[ScheduleRun]:
        """Fire every schedule due at `now` (default: the clock) once; return the runs claimed here."""
        return self._tick(self._clock() if now is None else now, interrupt=None)

    def trigger(self, principal: Principal, schedule_id: int) -> ScheduleRun:
        """Fire a schedule now as a manual run, leaving its `next_run_at` alone."""
        principal.require(Action.WRITE, "schedules")
        schedule = self._schedules.get(principal, schedule_id)
        now = self._clock()
        run = ScheduleRun(schedule_id=schedule.id, due_at=now, fired_at=now, manual=True)
        try:
            with self._db.session() as session:
                session.execute(update(Schedule).where(Schedule.id == schedule.id).values(last_run_at=now))
                session.add(run)
        except IntegrityError:
            raise ConflictError("the schedule already fired at this instant, or was just deleted") from None
        schedule.last_run_at = now
        return self._fire(schedule, run)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._leadership.is_leader():
                    self._tick(self._clock(), interrupt=self._stopping)
            except Exception:
                logger.exception("scheduler pass failed; retrying in %g s", self.poll_seconds)
            self._stopping.wait(self.poll_seconds)

    def _tick(self, now: datetime, interrupt: threading.Event | None) -> list[ScheduleRun]:
        runs: list[ScheduleRun] = []
        for schedule in self._due(now):
            if interrupt is not None and interrupt.is_set():
                break
            try:
                run = self._claim(schedule, now)
            except Exception:  # one broken schedule must not starve the others
                logger.exception("could not claim schedule %s", schedule.id)
                continue
            if run is not None:
                runs.append(self._fire(schedule, run))
        return runs

    def _due(self, now: datetime) -> list[Schedule]:
        stmt = (
            select(Schedule)
            .where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
            .order_by(Schedule.next_run_at, Schedule.id)
            .limit(self.batch_size)
        )
        with self._db.session() as session:
            return list(session.scalars(stmt))

    def _claim(self, schedule: Schedule, now: datetime) -> ScheduleRun | None:
        """Take the schedule's latest due time at `now`, or None if another claimer has it."""
        previous = schedule.next_run_at
        if previous is None:
            return None
        timing = Timing.of(schedule)
        due_at = max(previous, last_due(timing, now) or previous)
        following = next_due(timing, now)
        run = ScheduleRun(schedule_id=schedule.id, due_at=due_at, fired_at=now, manual=False)
        try:
            with self._db.session() as session:
                if not _advance(session, schedule.id, previous, following, now):
                    return None
                session.add(run)
        except IntegrityError:
            # A run already holds this due time (a manual trigger at that very instant):
            # move on without firing it a second time.
            with self._db.session() as session:
                _advance(session, schedule.id, previous, following, now)
            return None
        schedule.next_run_at, schedule.last_run_at = following, now
        logger.info("schedule %s claimed due time %s", schedule.id, due_at.isoformat())
        return run

    def _fire(self, schedule: Schedule, run: ScheduleRun) -> ScheduleRun:
        """Call the handler outside any transaction and record its job id or error on the run."""
        job_id: int | None = None
        error: str | None = None
        handler = self._handlers.get(schedule.kind)
        if handler is None:
            error = f"no handler for schedule kind {schedule.kind!r}"
            logger.error("schedule %s: %s", schedule.id, error)
        else:
            try:
                job_id = handler(schedule, run.due_at, run.manual)
            except Exception as exc:
                logger.exception("schedule %s failed for due time %s", schedule.id, run.due_at.isoformat())
                error = f"{type(exc).__name__}: {exc}"
        try:
            with self._db.session() as session:
                session.execute(
                    update(ScheduleRun).where(ScheduleRun.id == run.id).values(job_id=job_id, error=error)
                )
        except SQLAlchemyError:
            logger.exception("could not record the outcome of schedule run %s", run.id)
            return run
        run.job_id, run.error = job_id, error
        return run


def _advance(
    session: Session, schedule_id: int, previous: datetime, following: datetime | None, now: datetime
) -> bool:
    """Compare-and-set `next_run_at` from `previous` to `following`; whether this caller won."""
    result = session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.next_run_at == previous)
        .values(next_run_at=following, last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1
