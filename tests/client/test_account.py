"""`client.account`: usage beside limits and the activity reports, sync and async."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from openlytics.client import (
    AccountUsage,
    AsyncClient,
    DashboardActivity,
    PermissionDeniedError,
    UserActivity,
)
from openlytics.testing import LiveServer
from tests.client.conftest import SdkOrg
from tests.conftest import settle_stored


def test_usage_and_activity_reports(org: SdkOrg, server: LiveServer) -> None:
    dashboard = org.editor.dashboards.create("Seen")
    org.viewer.dashboards.get(dashboard.id)
    settle_stored(server, None)  # each API process writes its activity every second
    report = org.viewer.account.usage()
    assert isinstance(report, AccountUsage)
    assert report.usage["dashboards"] == 1 and report.usage["dashboard_views"] == 1
    assert report.limits["rows"] is None and report.period_start is not None
    assert report.period_end is not None and report.period_start < report.period_end

    users = {u.user_id: u for u in org.admin.account.user_activity()}
    assert all(isinstance(u, UserActivity) for u in users.values())
    assert users[org.user_ids["viewer"]].views == 1 and users[org.user_ids["viewer"]].api_calls >= 2
    with pytest.raises(PermissionDeniedError):
        org.editor.account.user_activity()

    seen = org.viewer.account.dashboard_activity(since=datetime.now(UTC) - timedelta(hours=1))
    assert [(d.dashboard_id, d.views, d.viewers) for d in seen] == [(dashboard.id, 1, 1)]
    assert isinstance(seen[0], DashboardActivity) and seen[0].last_viewed is not None


def test_async_account(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["admin"]) as client:
            report = await client.account.usage()
            assert report.usage["users"] == 3
            assert len(await client.account.user_activity(since="2000-01-01")) == 3
            assert await client.account.dashboard_activity() == []

    asyncio.run(main())
