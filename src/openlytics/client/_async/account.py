"""The account: usage beside limits, and activity reports (who viewed, ran and called what)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openlytics.client.models import AccountUsage, DashboardActivity, UserActivity

from .http import AsyncHTTP


class AsyncAccount:
    """`client.account`: the organization the credential belongs to."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def usage(self) -> AccountUsage:
        """Usage this calendar month (UTC) beside the limits; limits are reported, not enforced."""
        return AccountUsage.from_json(await self._http.request("GET", "/account/usage"))

    async def user_activity(self, since: datetime | str | None = None) -> list[UserActivity]:
        """Every user's dashboard views, runs and API calls since `since` (admins)."""
        data = await self._http.request("GET", "/account/activity/users", params=_since(since))
        return [UserActivity.from_json(item) for item in data["results"]]

    async def dashboard_activity(self, since: datetime | str | None = None) -> list[DashboardActivity]:
        """Every dashboard's views and distinct viewers since `since`."""
        data = await self._http.request("GET", "/account/activity/dashboards", params=_since(since))
        return [DashboardActivity.from_json(item) for item in data["results"]]


def _since(since: datetime | str | None) -> dict[str, Any]:
    if since is None:
        return {}
    return {"since": since.isoformat() if isinstance(since, datetime) else since}
