"""Schedules: recurring triggers (an interval or a cron expression in a time zone) and their due times.

The service returns `Schedule` and `ScheduleRun` ORM objects detached from their session (the store
uses `expire_on_commit=False`, so every column stays readable); changing them changes nothing stored.

Due times:
- An interval is elapsed time on a fixed grid: `starts_at + k * interval_seconds` (k >= 0), or
  without `starts_at`, `created_at` truncated to the second `+ k * interval_seconds` (k >= 1). The grid
  never drifts with firing delays, and the time zone plays no part (use cron for wall-clock times
  across DST changes).
- A cron expression (5 fields) is matched against the wall clock of `timezone`. A wall time that
  occurs twice (clocks going back) fires once, at its first occurrence; a wall time the clock skips
  (clocks going forward) fires at the instant of the jump.
- `starts_at` is the earliest and `until` the latest (inclusive) due time. Creating, re-enabling or
  re-timing a schedule sets `next_run_at` to its first due time at or after now: due times missed
  before that are dropped. Past `until`, or while the schedule is disabled, `next_run_at` is null.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, croniter
from sqlalchemy import select
from sqlalchemy.orm import Session

from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.pagination import Page, paginate
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import Schedule, ScheduleRun
from openlytics.store.types import utcnow

# The scheduler polls about once a second, so a shorter interval could not be honoured.
MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 2**31 - 1  # the column is a 32-bit integer

# Fields `update` accepts; the timing ones move `next_run_at`.
_TIMING_FIELDS = frozenset({"interval_seconds", "cron", "timezone", "starts_at", "until", "enabled"})
_FIELDS = _TIMING_FIELDS | {"name", "kind", "target_id", "payload"}

# Cron matches examined per search; only a wall-clock hour repeated by DST needs more than a few.
_SEARCH_LIMIT = 10_000
_MICROSECOND = timedelta(microseconds=1)

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """The fields of a schedule that decide its due times."""

    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    starts_at: datetime | None = None
    until: datetime | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, schedule: Schedule) -> Timing:
        """The timing of a stored schedule."""
        return cls(
            interval_seconds=schedule.interval_seconds,
            cron=schedule.cron,
            timezone=schedule.timezone,
            starts_at=schedule.starts_at,
            until=schedule.until,
            created_at=schedule.created_at,
        )

    def grid(self) -> tuple[datetime, timedelta]:
        """An interval's first due time and step: `starts_at`, else one step after `created_at`."""
        if self.interval_seconds is None:
            raise ValueError("only an interval has a grid")
        step = timedelta(seconds=self.interval_seconds)
        if self.starts_at is not None:
            return self.starts_at, step
        if self.created_at is None:
            raise ValueError("an interval needs starts_at or created_at to anchor its grid")
        return self.created_at.replace(microsecond=0) + step, step


def next_due(timing: Timing, after: datetime) -> datetime | None:
    """The earliest due time strictly after `after`, or None when there is none (past `until`)."""
    if timing.interval_seconds is not None:
        first, step = timing.grid()
        due = first if after < first else first + ((after - first) // step + 1) * step
    elif timing.cron is not None:
        if timing.starts_at is not None and after < timing.starts_at:
            after = timing.starts_at - _MICROSECOND
        try:
            due = _cron_next(timing.cron, ZoneInfo(timing.timezone), after)
        except CroniterBadDateError:
            return None
    else:
        raise ValueError("a schedule needs interval_seconds or cron")
    if timing.until is not None and due > timing.until:
        return None
    return due


def last_due(timing: Timing, at: datetime) -> datetime | None:
    """The latest due time at or before `at` (and `until`), or None when there is none yet."""
    if timing.until is not None:
        at = min(at, timing.until)
    if timing.interval_seconds is not None:
        first, step = timing.grid()
        return None if at < first else first + ((at - first) // step) * step
    if timing.cron is None:
        raise ValueError("a schedule needs interval_seconds or cron")
    try:
        due = _cron_last(timing.cron, ZoneInfo(timing.timezone), at)
    except CroniterBadDateError:
        return None
    if timing.starts_at is not None and due < timing.starts_at:
        return None
    return due


def _cron_next(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    # Iterate wall times from the wall time of `after`; inside a repeated hour the first matches
    # map to instants already past (their first occurrence), so keep going until one is later.
    matches = croniter(cron, after.astimezone(zone).replace(tzinfo=None, fold=0))
    for _ in range(_SEARCH_LIMIT):
        due = _wall_to_utc(matches.get_next(datetime), zone)
        if due > after:
            return due
    raise CroniterBadDateError(f"no due time found after {after.isoformat()}")


def _cron_last(cron: str, zone: ZoneInfo, at: datetime) -> datetime:
    local = at.astimezone(zone)
    start = local.replace(tzinfo=None, fold=0)
    if local.fold:
        # `at` is in the second pass of a repeated hour: every wall time of that hour is already past.
        start += _offset(local.replace(fold=0)) - _offset(local)
    matches = croniter(cron, start + _MICROSECOND)  # so a match exactly at `start` counts
    for _ in range(_SEARCH_LIMIT):
        due = _wall_to_utc(matches.get_prev(datetime), zone)
        if due <= at:
            return due
    raise CroniterBadDateError(f"no due time found before {at.isoformat()}")


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a wall time of `zone` fires: its first occurrence, or the jump that skipped it."""
    due = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if due.astimezone(zone).replace(tzinfo=None) == wall:
        return due
    return _jump_over(wall, zone)


def _jump_over(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumped forward over the non-existent wall time `wall`."""
    # fold=1 reads a skipped time with the offset after the jump (an instant before it),
    # fold=0 with the offset before (an instant after it); zone transitions fall on whole seconds.
    before = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = math.ceil(wall.replace(tzinfo=zone, fold=0).timestamp())
    offset_after = _offset(datetime.fromtimestamp(after, zone))
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(datetime.fromtimestamp(middle, zone)) == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _offset(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("an aware datetime is required")
    return offset


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


class ScheduleService:
    """Create, read, change and delete the schedules of an organization."""

    def __init__(
        self,
        db: Database,
        known_kinds: Callable[[], set[str]] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._known_kinds = known_kinds
        self._clock = clock

    def list(self, principal: Principal, *, page: int = 1, per_page: int = 25) -> Page[Schedule]:
        """One page of the organization's schedules (oldest first) and their total."""
        _require(principal, Action.READ)
        stmt = select(Schedule).where(Schedule.org_id == principal.org_id).order_by(Schedule.id)
        with self._db.session() as session:
            return paginate(session, stmt, page, per_page)

    def get(self, principal: Principal, id: int) -> Schedule:
        """One schedule of the organization."""
        _require(principal, Action.READ)
        with self._db.session() as session:
            return _find(session, principal, id)

    def create(
        self,
        principal: Principal,
        *,
        kind: str,
        target_id: int,
        interval_seconds: int | None = None,
        cron: str | None = None,
        timezone: str = "UTC",
        starts_at: datetime | str | None = None,
        until: datetime | str | None = None,
        enabled: bool = True,
        payload: Mapping[str, Any] | None = None,
        name: str = "",
    ) -> Schedule:
        """Create a schedule firing every `interval_seconds` or on `cron` (exactly one of them)."""
        _require(principal, Action.WRITE)
        fields = self._validated(
            {
                "kind": kind,
                "target_id": target_id,
                "interval_seconds": interval_seconds,
                "cron": cron,
                "timezone": timezone,
                "starts_at": starts_at,
                "until": until,
                "enabled": enabled,
                "payload": payload,
                "name": name,
            }
        )
        now = self._clock()
        schedule = Schedule(
            org_id=principal.org_id, created_by_id=principal.user_id, created_at=now, **fields
        )
        schedule.next_run_at = _first_due(schedule, now)
        with self._db.session() as session:
            session.add(schedule)
        return schedule

    def update(self, principal: Principal, id: int, **changes: Any) -> Schedule:
        """Change some fields; giving `cron` clears `interval_seconds` and vice versa."""
        _require(principal, Action.WRITE)
        for field in changes:
            if field not in _FIELDS:
                raise InvalidInputError(field, "unknown field")
        with self._db.session() as session:
            schedule = _find(session, principal, id)
            merged = {field: getattr(schedule, field) for field in _FIELDS} | changes
            if changes.get("cron") is not None and "interval_seconds" not in changes:
                merged["interval_seconds"] = None
            if changes.get("interval_seconds") is not None and "cron" not in changes:
                merged["cron"] = None
            fields = self._validated(merged, new_kind="kind" in changes)
            timing_changed = any(getattr(schedule, f) != fields[f] for f in _TIMING_FIELDS)
            for field, value in fields.items():
                setattr(schedule, field, value)
            if timing_changed:
                # Due times missed under the old timing are dropped, not fired.
                schedule.next_run_at = _first_due(schedule, self._clock())
        return schedule

    def delete(self, principal: Principal, id: int) -> None:
        """Delete a schedule and its runs."""
        _require(principal, Action.WRITE)
        with self._db.session() as session:
            session.delete(_find(session, principal, id))

    def for_targets(self, principal: Principal, kind: str, target_ids: Sequence[int]) -> dict[int, Schedule]:
        """The schedule of each target that has one (e.g. the refresh schedules of some queries)."""
        _require(principal, Action.READ)
        if not target_ids:
            return {}
        with self._db.session() as session:
            stmt = select(Schedule).where(
                Schedule.org_id == principal.org_id,
                Schedule.kind == kind,
                Schedule.target_id.in_(target_ids),
            )
            return {schedule.target_id: schedule for schedule in session.scalars(stmt.order_by(Schedule.id))}

    def set_for_target(
        self, principal: Principal, kind: str, target_id: int, timing: Mapping[str, Any] | None
    ) -> Schedule | None:
        """Give a target exactly one schedule of `kind` with `timing`, or none when it is None."""
        existing = self.for_targets(principal, kind, [target_id]).get(target_id)
        if timing is None:
            if existing is not None:
                self.delete(principal, existing.id)
            return None
        if existing is None:
            return self.create(principal, kind=kind, target_id=target_id, **timing)
        changes = {"interval_seconds": None, "cron": None, "starts_at": None, "until": None} | dict(timing)
        return self.update(principal, existing.id, **changes)

    def runs(self, principal: Principal, id: int, *, page: int = 1, per_page: int = 25) -> Page[ScheduleRun]:
        """One page of a schedule's runs (newest first) and their total."""
        _require(principal, Action.READ)
        with self._db.session() as session:
            _find(session, principal, id)
            stmt = (
                select(ScheduleRun)
                .where(ScheduleRun.schedule_id == id)
                .order_by(ScheduleRun.fired_at.desc(), ScheduleRun.id.desc())
            )
            return paginate(session, stmt, page, per_page)

    def _validated(self, fields: Mapping[str, Any], *, new_kind: bool = True) -> dict[str, Any]:
        kind = _text(fields["kind"], "kind", 40, required=True)
        # A stored kind stays valid even if its handler is gone; only a kind being set is checked.
        if new_kind and self._known_kinds is not None and kind not in (known := self._known_kinds()):
            raise InvalidInputError("kind", f"unknown kind; expected one of {', '.join(sorted(known))}")
        interval_seconds, cron = fields["interval_seconds"], fields["cron"]
        if (interval_seconds is None) == (cron is None):
            raise InvalidInputError("interval_seconds", "give exactly one of interval_seconds and cron")
        starts_at = _moment(fields["starts_at"], "starts_at")
        until = _moment(fields["until"], "until")
        if starts_at is not None and until is not None and until <= starts_at:
            raise InvalidInputError("until", "must be after starts_at")
        payload = {} if fields["payload"] is None else fields["payload"]
        if not isinstance(payload, Mapping):
            raise InvalidInputError("payload", "must be an object")
        if not isinstance(fields["enabled"], bool):
            raise InvalidInputError("enabled", "must be true or false")
        return {
            "kind": kind,
            "target_id": _target_id(fields["target_id"]),
            "interval_seconds": None if interval_seconds is None else _interval(interval_seconds),
            "cron": None if cron is None else _cron(cron),
            "timezone": _timezone(fields["timezone"]),
            "starts_at": starts_at,
            "until": until,
            "enabled": fields["enabled"],
            "payload": dict(payload),
            "name": _text("" if fields["name"] is None else fields["name"], "name", 255),
        }


def _require(principal: Principal, action: Action) -> None:
    principal.require(action, "schedules")
    if principal.is_query_key:  # a query key reaches its query and results, nothing else
        raise PermissionDeniedError(action.value, "schedules")


def _find(session: Session, principal: Principal, id: int) -> Schedule:
    schedule = session.scalar(select(Schedule).where(Schedule.id == id, Schedule.org_id == principal.org_id))
    if schedule is None:
        raise NotFoundError("schedule", id)
    return schedule


def _first_due(schedule: Schedule, now: datetime) -> datetime | None:
    """The first due time at or after `now` (a schedule starting now fires now)."""
    return next_due(Timing.of(schedule), now - _MICROSECOND) if schedule.enabled else None


def _text(value: Any, field: str, max_length: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field, "must be a string")
    if required and not value.strip():
        raise InvalidInputError(field, "is required")
    if len(value) > max_length:
        raise InvalidInputError(field, f"must be at most {max_length} characters")
    return value


def _target_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError("target_id", "must be a positive integer")
    return value


def _interval(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError("interval_seconds", "must be an integer")
    if not MIN_INTERVAL_SECONDS <= value <= MAX_INTERVAL_SECONDS:
        reason = f"must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS} seconds"
        raise InvalidInputError("interval_seconds", reason)
    return value


def _cron(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInputError("cron", "must be a string")
    expression = " ".join(value.split())
    if len(expression.split(" ")) != 5 or len(expression) > 120 or not croniter.is_valid(expression):
        raise InvalidInputError(
            "cron", "must be a cron expression of 5 fields: minute hour day month weekday"
        )
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidInputError("cron", "never matches a date") from None
    return expression


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in _zone_names():
        raise InvalidInputError("timezone", "must be an IANA time zone such as Europe/Paris")
    return value


def _moment(value: Any, field: str) -> datetime | None:
    """An aware UTC datetime from a datetime or ISO-8601 text; naive values are read as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(field, "must be an ISO-8601 date and time") from None
    if not isinstance(value, datetime):
        raise InvalidInputError(field, "must be a date and time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
