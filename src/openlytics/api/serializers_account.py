"""Account usage and activity reports to the JSON shapes of docs/api.md."""

from __future__ import annotations

from typing import Any

from openlytics.api.serializers import iso
from openlytics.core.account import AccountUsage, DashboardActivity, UserActivity


def account_usage(u: AccountUsage) -> dict[str, Any]:
    """`GET /account/usage`: the account, its usage this period and its limits (null: unlimited)."""
    account = dict(u.account)
    account["created_date"] = iso(account.get("created_date"))
    return {
        "account": account,
        "usage": dict(u.usage),
        "limits": dict(u.limits),
        "period": {"start": iso(u.period_start), "end": iso(u.period_end)},
    }


def user_activity(a: UserActivity) -> dict[str, Any]:
    """One user's activity."""
    return {
        "user_id": a.user_id,
        "email": a.email,
        "name": a.name,
        "views": a.views,
        "runs": a.runs,
        "api_calls": a.api_calls,
        "last_seen": iso(a.last_seen),
    }


def dashboard_activity(a: DashboardActivity) -> dict[str, Any]:
    """One dashboard's views."""
    return {
        "dashboard_id": a.dashboard_id,
        "name": a.name,
        "views": a.views,
        "viewers": a.viewers,
        "last_viewed": iso(a.last_viewed),
    }
