# Generated from _async/account.py by `python -m openlytics.client._unasync`; edit that file instead.
"""The account: usage beside limits, and activity reports (who viewed, ran and called what)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openlytics.client.models import AccountUsage, DashboardActivity, UserActivity

from .http import HTTP


class Account:
    """`client.account`: the organization the credential belongs to."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def usage(self) -> AccountUsage:
        """Usage this calendar month (UTC) beside the limits; limits are reported, not enforced."""
        return AccountUsage.from_json(self._http.request("GET", "/account/usage"))

    def user_activity(self, since: datetime | str | None = None) -> list[UserActivity]:
        """Every user's dashboard views, runs and API calls since `since` (admins)."""
        data = self._http.request("GET", "/account/activity/users", params=_since(since))
        return [UserActivity.from_json(item) for item in data["results"]]

    def dashboard_activity(self, since: datetime | str | None = None) -> list[DashboardActivity]:
        """Every dashboard's views and distinct viewers since `since`."""
        data = self._http.request("GET", "/account/activity/dashboards", params=_since(since))
        return [DashboardActivity.from_json(item) for item in data["results"]]


def _since(since: datetime | str | None) -> dict[str, Any]:
    if since is None:
        return {}
    return {"since": since.isoformat() if isinstance(since, datetime) else since}
