"""`openlytics usage` and `openlytics activity ...` against a live server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from openlytics.cli.account import parse_since, usage_table
from openlytics.client.models import AccountUsage
from openlytics.testing import LiveServer
from tests.cli.conftest import Invoke
from tests.conftest import settle_stored


def test_usage_prints_a_table_and_json(cli: Invoke) -> None:
    result = cli("usage")
    assert result.exit_code == 0, result.output
    for label in ("rows", "data sets", "storage (MB)", "API calls this month", "unlimited"):
        assert label in result.output
    as_json = json.loads(cli("usage", "--json").output)
    assert as_json["usage"]["users"] == 3 and as_json["limits"]["rows"] is None
    assert as_json["usage"]["api_calls"] >= 1


def test_usage_draws_a_bar_per_limited_item() -> None:
    report = AccountUsage.from_json(
        {
            "account": {"id": 1, "name": "Acme", "slug": "acme"},
            "usage": {"rows": 500, "data_sets": 19, "api_calls": 120, "storage_mb": 1.5, "queries": 4},
            "limits": {"rows": 1000, "data_sets": 20, "api_calls_per_month": 100, "storage_mb": None},
            "period": {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
        }
    )
    console = Console(record=True, width=120, color_system=None)
    console.print(usage_table(report))
    text = console.export_text()
    assert "Acme — usage since 2026-12-01" in text
    assert "50%" in text and "95%" in text and "120%" in text
    assert "━" in text and "unlimited" in text and "1,000" in text and "1.50" in text


def test_activity_reports(cli: Invoke, new_org: Any, server: LiveServer) -> None:
    dashboard = new_org.editor.post("/api/v1/dashboards", json={"name": "Watched"}).json()
    new_org.viewer.get(f"/api/v1/dashboards/{dashboard['id']}")
    settle_stored(server, new_org.id)  # each API process writes its activity every second
    users = cli("activity", "users", "--json", role="admin")
    assert users.exit_code == 0, users.output
    viewer = next(u for u in json.loads(users.output) if u["user_id"] == new_org.viewer_user_id)
    assert viewer["views"] == 1
    dashboards = cli("activity", "dashboards", "--since", "30d", role="viewer")
    assert dashboards.exit_code == 0, dashboards.output
    assert "Watched" in dashboards.output and "1 row" in dashboards.output
    refused = cli("activity", "users", role="viewer")
    assert refused.exit_code == 1 and "permission" in refused.output.lower()


def test_since_takes_days_or_a_date() -> None:
    assert parse_since(None) is None
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    days = parse_since("7d")
    assert days is not None and 6.9 < (datetime.now(UTC) - days).total_seconds() / 86400 < 7.1
