"""The account: usage against limits, and who did what (activity reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from openlytics.api import serializers_account as ser
from openlytics.api.auth import App, CurrentPrincipal

router = APIRouter(tags=["account"])


@router.get("/account/usage")
def get_usage(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The organization's usage this calendar month (UTC) beside its limits (reported, not enforced)."""
    return ser.account_usage(app.account.usage(principal))


@router.get("/account/activity/users")
def get_user_activity(app: App, principal: CurrentPrincipal, since: datetime | None = None) -> dict[str, Any]:
    """Each user's dashboard views, runs and API calls since `since` (admins)."""
    found = app.account.user_activity(principal, since=since)
    return {"results": [ser.user_activity(a) for a in found]}


@router.get("/account/activity/dashboards")
def get_dashboard_activity(
    app: App, principal: CurrentPrincipal, since: datetime | None = None
) -> dict[str, Any]:
    """Each dashboard's views and distinct viewers since `since`."""
    found = app.account.dashboard_activity(principal, since=since)
    return {"results": [ser.dashboard_activity(a) for a in found]}
