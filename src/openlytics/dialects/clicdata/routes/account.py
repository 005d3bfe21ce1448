"""Account usage and limits, and the activity of users and dashboards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.clicdata import wire
from openlytics.dialects.clicdata.auth import Caller, app_of

router = APIRouter()
MONTHLY = "_per_month"


@router.get("/account")
def get_account(request: Request, caller: Caller) -> dict[str, Any]:
    """`Account.get_account()`: objects sharing keys (pandas builds a frame from them)."""
    usage = app_of(request).account.usage(caller)
    account = {
        **usage.account,
        "period_start": wire.timestamp(usage.period_start),
        "period_end": wire.timestamp(usage.period_end),
    }
    # Limits keyed like the usage they bound (`api_calls_per_month` -> `api_calls`: usage is monthly),
    # so the wrapper's DataFrame lines them up.
    limits = {key.removesuffix(MONTHLY): value for key, value in usage.limits.items()}
    return {"account": account, "usage": usage.usage, "limits": limits}


@router.get("/account/activity/users")
def get_account_activity_users(request: Request, caller: Caller, since: str | None = None) -> list[Any]:
    """`Account.get_account_activity('users')`: one record per user."""
    rows = app_of(request).account.user_activity(caller, since=_since(since))
    return [
        {
            "user_id": r.user_id,
            "user": r.email,
            "name": r.name,
            "views": r.views,
            "runs": r.runs,
            "api_calls": r.api_calls,
            "date": wire.timestamp(r.last_seen),
        }
        for r in rows
    ]


@router.get("/account/activity/dashboards")
def get_account_activity_dashboards(request: Request, caller: Caller, since: str | None = None) -> list[Any]:
    """`Account.get_account_activity('dashboards')`: one record per dashboard."""
    rows = app_of(request).account.dashboard_activity(caller, since=_since(since))
    return [
        {
            "rec_id": r.dashboard_id,
            "dashboard": r.name,
            "views": r.views,
            "viewers": r.viewers,
            "date": wire.timestamp(r.last_viewed),
        }
        for r in rows
    ]


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError("since", "an ISO-8601 date or time") from None
