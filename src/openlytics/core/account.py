"""An organization's account: what it holds and did (usage), beside its limits, and who did what.

Limits are reported beside the usage, never enforced here. Every figure is computed with SQL
aggregates over one organization (the principal's); nothing crosses organizations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.core.errors import NotFoundError
from openlytics.core.principal import Action, Principal
from openlytics.core.sources import DataSourceService
from openlytics.store.db import Database
from openlytics.store.models import (
    ActivityEvent,
    Dashboard,
    Dataset,
    Organization,
    Query,
    Schedule,
    Script,
    User,
)
from openlytics.store.types import utcnow

# The usage keys reported, and the limit keys (the fields of settings.AccountLimitSettings).
USAGE_KEYS = (
    "data_sets",
    "rows",
    "dashboards",
    "users",
    "storage_mb",
    "api_calls",
    "queries",
    "schedules",
    "scripts",
    "query_runs",
    "dashboard_views",
)
LIMIT_KEYS = ("rows", "data_sets", "dashboards", "users", "storage_mb", "api_calls_per_month")

_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class AccountUsage:
    """An organization's usage in the current period, beside its limits (None: unlimited)."""

    account: dict[str, Any]
    usage: dict[str, Any]
    limits: dict[str, int | None]
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class UserActivity:
    """What one user did: dashboard views, runs (queries and scripts) and API calls."""

    user_id: int
    email: str
    name: str
    views: int
    runs: int
    api_calls: int
    last_seen: datetime | None


@dataclass(frozen=True)
class DashboardActivity:
    """How much one dashboard was viewed, and by how many distinct users."""

    dashboard_id: int
    name: str
    views: int
    viewers: int
    last_viewed: datetime | None


class AccountService:
    """Usage, limits and activity reports of the caller's organization."""

    def __init__(
        self,
        db: Database,
        activity: ActivityLog,
        sources: DataSourceService,
        *,
        limits: Callable[[], Mapping[str, int | None]],
    ) -> None:
        self.db = db
        self.activity = activity
        self.sources = sources
        self.limits = limits

    def usage(self, principal: Principal) -> AccountUsage:
        """The organization's holdings and this calendar month's (UTC) activity, with its limits."""
        principal.require(Action.READ, "account")
        self.activity.flush()
        start, end = month_of(utcnow())
        org_id = principal.org_id
        storage_mb = round(self.sources.warehouse_bytes(org_id) / (1024 * 1024), 2)
        with self.db.session() as s:
            org = s.get(Organization, org_id)
            if org is None:
                raise NotFoundError("organization", org_id)
            datasets = s.execute(
                select(func.count(Dataset.id), func.coalesce(func.sum(Dataset.row_count), 0)).where(
                    Dataset.org_id == org_id
                )
            ).one()
            events = _event_counts(s, org_id, start, end)
            usage: dict[str, Any] = {
                "data_sets": int(datasets[0]),
                "rows": int(datasets[1]),
                "dashboards": _count(
                    s,
                    select(func.count(Dashboard.id)).where(
                        Dashboard.org_id == org_id, Dashboard.is_archived.is_(False)
                    ),
                ),
                "users": _count(
                    s, select(func.count(User.id)).where(User.org_id == org_id, User.disabled_at.is_(None))
                ),
                "storage_mb": storage_mb,
                "api_calls": events.get(ActivityKind.API_CALL, 0),
                "queries": _count(
                    s,
                    select(func.count(Query.id)).where(Query.org_id == org_id, Query.is_archived.is_(False)),
                ),
                "schedules": _count(s, select(func.count(Schedule.id)).where(Schedule.org_id == org_id)),
                "scripts": _count(s, select(func.count(Script.id)).where(Script.org_id == org_id)),
                "query_runs": events.get(ActivityKind.QUERY_RUN, 0),
                "dashboard_views": events.get(ActivityKind.DASHBOARD_VIEW, 0),
            }
            account = {"id": org.id, "name": org.name, "slug": org.slug, "created_date": org.created_at}
        configured = self.limits()
        limits = {key: configured.get(key) for key in LIMIT_KEYS}
        return AccountUsage(account, usage, limits, start, end)

    def user_activity(self, principal: Principal, *, since: datetime | None = None) -> list[UserActivity]:
        """Every user of the organization with their views, runs and API calls (since `since`)."""
        principal.require(Action.MANAGE_USERS, "user activity")
        self.activity.flush()
        org_id = principal.org_id
        with self.db.session() as s:
            users = s.execute(
                select(User.id, User.email, User.name, User.last_seen_at)
                .where(User.org_id == org_id)
                .order_by(User.id)
            ).all()
            counts: dict[tuple[int | None, str], int] = {}
            stmt = _since(
                select(ActivityEvent.user_id, ActivityEvent.kind, func.count(ActivityEvent.id)).where(
                    ActivityEvent.org_id == org_id, ActivityEvent.user_id.is_not(None)
                ),
                since,
            ).group_by(ActivityEvent.user_id, ActivityEvent.kind)
            for user_id, kind, n in s.execute(stmt):
                counts[(user_id, kind)] = int(n)
            latest_stmt = (
                select(ActivityEvent.user_id, func.max(ActivityEvent.created_at))
                .where(ActivityEvent.org_id == org_id, ActivityEvent.user_id.is_not(None))
                .group_by(ActivityEvent.user_id)
            )
            latest = {user_id: when for user_id, when in s.execute(latest_stmt)}
        return [
            UserActivity(
                user_id=uid,
                email=email,
                name=name,
                views=counts.get((uid, ActivityKind.DASHBOARD_VIEW), 0),
                runs=counts.get((uid, ActivityKind.QUERY_RUN), 0)
                + counts.get((uid, ActivityKind.SCRIPT_RUN), 0),
                api_calls=counts.get((uid, ActivityKind.API_CALL), 0),
                last_seen=_newest(_aware(latest.get(uid)), _aware(seen)),
            )
            for uid, email, name, seen in users
        ]

    def dashboard_activity(
        self, principal: Principal, *, since: datetime | None = None
    ) -> list[DashboardActivity]:
        """Every non-archived dashboard with its views and distinct viewers (since `since`)."""
        principal.require(Action.READ, "dashboard activity")
        self.activity.flush()
        org_id = principal.org_id
        with self.db.session() as s:
            dashboards = s.execute(
                select(Dashboard.id, Dashboard.name)
                .where(Dashboard.org_id == org_id, Dashboard.is_archived.is_(False))
                .order_by(Dashboard.id)
            ).all()
            stmt = _since(
                select(
                    ActivityEvent.object_id,
                    func.count(ActivityEvent.id),
                    func.count(func.distinct(ActivityEvent.user_id)),
                    func.max(ActivityEvent.created_at),
                ).where(
                    ActivityEvent.org_id == org_id,
                    ActivityEvent.kind == ActivityKind.DASHBOARD_VIEW.value,
                    ActivityEvent.object_type == "dashboard",
                ),
                since,
            ).group_by(ActivityEvent.object_id)
            views = {row[0]: (int(row[1]), int(row[2]), _aware(row[3])) for row in s.execute(stmt)}
        return [
            DashboardActivity(
                dashboard_id=did,
                name=name,
                views=views.get(did, (0, 0, None))[0],
                viewers=views.get(did, (0, 0, None))[1],
                last_viewed=views.get(did, (0, 0, None))[2],
            )
            for did, name in dashboards
        ]


def month_of(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) holding `moment`: its first instant and the next month's."""
    moment = moment.astimezone(UTC)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def _event_counts(s: Session, org_id: int, start: datetime, end: datetime) -> dict[str, int]:
    stmt = (
        select(ActivityEvent.kind, func.count(ActivityEvent.id))
        .where(
            ActivityEvent.org_id == org_id, ActivityEvent.created_at >= start, ActivityEvent.created_at < end
        )
        .group_by(ActivityEvent.kind)
    )
    return {kind: int(n) for kind, n in s.execute(stmt)}


def _since(stmt: _S, since: datetime | None) -> _S:
    if since is None:
        return stmt
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return stmt.where(ActivityEvent.created_at >= since)


def _count(s: Session, stmt: Select[Any]) -> int:
    return int(s.scalar(stmt) or 0)


def _aware(value: datetime | None) -> datetime | None:
    # Aggregates may come back without the column type's conversion (naive UTC on SQLite).
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
