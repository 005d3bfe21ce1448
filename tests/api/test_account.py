"""Account usage, limits and activity reports (/api/v1/account) on a live server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openlytics.store.models import ActivityEvent
from openlytics.store.types import utcnow
from openlytics.testing import LiveServer
from tests.conftest import Org, make_settings, settle_stored, stored_events


def usage(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/api/v1/account/usage")
    assert response.status_code == 200, response.text
    return response.json()


def user_activity(org: Org, **params: str) -> dict[int, dict[str, Any]]:
    response = org.admin.get("/api/v1/account/activity/users", params=params)
    assert response.status_code == 200, response.text
    return {entry["user_id"]: entry for entry in response.json()["results"]}


def dashboard_activity(client: httpx.Client) -> dict[int, dict[str, Any]]:
    response = client.get("/api/v1/account/activity/dashboards")
    assert response.status_code == 200, response.text
    return {entry["dashboard_id"]: entry for entry in response.json()["results"]}


def stored_api_calls(server: LiveServer, org_id: int) -> int:
    """The organization's API calls written to the store (the embedded server's buffer flushed)."""
    return stored_events(server, org_id, kind="api_call")


def wait_until_stored(server: LiveServer, org_id: int, calls: int) -> None:
    """Every API process writes the calls it noted within a second (the distributed mode has two):
    wait until the store holds `calls` of the organization's, so a report counts them all."""
    deadline = time.monotonic() + 30
    while (stored := stored_api_calls(server, org_id)) < calls:
        assert time.monotonic() < deadline, f"{stored} of {calls} API calls stored"
        time.sleep(0.1)


def channels(server: LiveServer, org_id: int, user_id: int) -> set[str | None]:
    server.core.activity.flush()
    with server.core.db.session() as s:
        return set(
            s.scalars(
                sa.select(ActivityEvent.channel).where(
                    ActivityEvent.org_id == org_id,
                    ActivityEvent.user_id == user_id,
                    ActivityEvent.kind == "api_call",
                )
            )
        )


def test_usage_describes_the_account_and_the_current_month(new_org: Org) -> None:
    body = usage(new_org.viewer)
    assert body["account"]["id"] == new_org.id and body["account"]["slug"].startswith("org-")
    assert body["account"]["created_date"].endswith("Z")
    assert set(body["usage"]) == {
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
    }
    assert body["usage"]["users"] == 3 and body["usage"]["data_sets"] == 0
    assert body["limits"] == {
        "rows": None,
        "data_sets": None,
        "dashboards": None,
        "users": None,
        "storage_mb": None,
        "api_calls_per_month": None,
    }
    start, end = body["period"]["start"], body["period"]["end"]
    assert start.endswith("-01T00:00:00Z") and end.endswith("-01T00:00:00Z") and start < end


def test_api_calls_are_counted_for_the_org_and_the_user(server: LiveServer, new_org: Org) -> None:
    settle_stored(server, new_org.id)
    before = usage(new_org.editor)["usage"]["api_calls"]
    calls = 7
    for _ in range(calls):
        assert new_org.editor.get("/api/v1/queries").status_code == 200
    settle_stored(server, new_org.id)
    after = usage(new_org.editor)["usage"]["api_calls"]
    assert after >= before + calls
    assert after == before + calls + 1  # the first usage call counts too
    settle_stored(server, new_org.id)
    editor = user_activity(new_org)[new_org.editor_user_id]
    assert editor["api_calls"] >= calls + 2
    assert editor["last_seen"] is not None and editor["email"].startswith("editor@")


def test_dialect_calls_count_under_the_dialect_name(server: LiveServer, new_org: Org) -> None:
    key = new_org.keys["editor"]
    settle_stored(server, new_org.id)
    before = usage(new_org.editor)["usage"]["api_calls"]
    tonalytica = httpx.get(
        f"{server.url}/tonalytica/api/dashboards", headers={"Authorization": f"Key {key}"}, timeout=30
    )
    serenytics = httpx.get(f"{server.url}/serenytics/api/script", headers={"X-Api-Key": key}, timeout=30)
    assert tonalytica.status_code == 200 and serenytics.status_code == 200
    wait_until_stored(server, new_org.id, before + 3)  # the first usage call and the two dialect calls
    assert usage(new_org.editor)["usage"]["api_calls"] == before + 3
    assert channels(server, new_org.id, new_org.editor_user_id) == {"native", "tonalytica", "serenytics"}


def test_unauthenticated_requests_are_not_counted(server: LiveServer, new_org: Org) -> None:
    settle_stored(server, new_org.id)
    before = usage(new_org.admin)["usage"]["api_calls"]
    assert httpx.get(f"{server.url}/api/v1/queries", timeout=30).status_code == 401
    assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
    settle_stored(server, new_org.id)
    assert usage(new_org.admin)["usage"]["api_calls"] == before + 1


def test_a_saved_query_run_counts_and_a_cached_answer_does_not(server: LiveServer, new_org: Org) -> None:
    query = new_org.editor.post("/api/v1/queries", json={"name": "one", "sql": "SELECT 1 AS one"}).json()
    settle_stored(server, new_org.id)
    before = usage(new_org.editor)["usage"]
    runs_before = user_activity(new_org)[new_org.editor_user_id]["runs"]
    ran = new_org.editor.post(f"/api/v1/queries/{query['id']}/run", json={"wait": 30})
    assert ran.status_code == 200, ran.text
    cached = new_org.editor.post(f"/api/v1/queries/{query['id']}/run", json={"wait": 30, "max_age": 3600})
    assert cached.status_code == 200, cached.text
    settle_stored(server, new_org.id)
    after = usage(new_org.editor)["usage"]
    assert after["query_runs"] == before["query_runs"] + 1
    assert after["queries"] == before["queries"] == 1
    assert user_activity(new_org)[new_org.editor_user_id]["runs"] == runs_before + 1


def test_dashboard_views_and_distinct_viewers(server: LiveServer, new_org: Org) -> None:
    viewed = new_org.editor.post("/api/v1/dashboards", json={"name": f"Sales {uuid.uuid4().hex[:6]}"}).json()
    quiet = new_org.editor.post("/api/v1/dashboards", json={"name": f"Quiet {uuid.uuid4().hex[:6]}"}).json()
    for _ in range(2):
        assert new_org.viewer.get(f"/api/v1/dashboards/{viewed['id']}").status_code == 200
    assert new_org.editor.get(f"/api/v1/dashboards/{viewed['slug']}").status_code == 200
    via_dialect = httpx.get(
        f"{server.url}/tonalytica/api/dashboards/{viewed['id']}",
        headers={"Authorization": f"Key {new_org.keys['admin']}"},
        timeout=30,
    )
    assert via_dialect.status_code == 200, via_dialect.text

    settle_stored(server, new_org.id)
    report = dashboard_activity(new_org.viewer)
    assert report[viewed["id"]]["views"] == 4 and report[viewed["id"]]["viewers"] == 3
    assert report[viewed["id"]]["last_viewed"] is not None and report[viewed["id"]]["name"] == viewed["name"]
    assert report[quiet["id"]] == {
        "dashboard_id": quiet["id"],
        "name": quiet["name"],
        "views": 0,
        "viewers": 0,
        "last_viewed": None,
    }
    assert usage(new_org.viewer)["usage"]["dashboard_views"] == 4
    assert usage(new_org.viewer)["usage"]["dashboards"] == 2
    assert user_activity(new_org)[new_org.viewer_user_id]["views"] == 2

    future = (utcnow() + timedelta(days=1)).isoformat()
    later = new_org.viewer.get("/api/v1/account/activity/dashboards", params={"since": future}).json()
    assert {entry["views"] for entry in later["results"]} == {0}


def test_datasets_rows_and_storage_are_counted(new_org: Org) -> None:
    assert usage(new_org.editor)["usage"]["rows"] == 0
    created = new_org.editor.post(
        "/api/v1/datasets",
        json={"name": f"ds_{uuid.uuid4().hex[:8]}", "columns": [{"name": "id", "type": "int"}]},
    )
    assert created.status_code == 201, created.text
    pushed = new_org.editor.post(
        f"/api/v1/datasets/{created.json()['id']}/rows", json=[{"id": i} for i in range(5)]
    )
    assert pushed.status_code == 200, pushed.text
    counted = usage(new_org.editor)["usage"]
    assert counted["data_sets"] == 1 and counted["rows"] == 5
    assert isinstance(counted["storage_mb"], float) and counted["storage_mb"] > 0


def test_user_activity_lists_every_user_and_is_for_admins_only(new_org: Org) -> None:
    report = user_activity(new_org)
    assert set(report) == {new_org.admin_user_id, new_org.editor_user_id, new_org.viewer_user_id}
    assert all(entry["runs"] == 0 and entry["views"] == 0 for entry in report.values())
    for client in (new_org.viewer, new_org.editor):
        assert client.get("/api/v1/account/activity/users").status_code == 403
    future = (utcnow() + timedelta(days=1)).isoformat()
    later = user_activity(new_org, since=future)
    assert {entry["api_calls"] for entry in later.values()} == {0}


def test_another_organizations_activity_is_not_counted(
    server: LiveServer, admin: httpx.Client, new_org: Org
) -> None:
    settle_stored(server, new_org.id)
    before = usage(new_org.admin)["usage"]
    for _ in range(5):
        assert admin.get("/api/v1/queries").status_code == 200
    admin.post("/api/v1/runs", json={"sql": f"SELECT {uuid.uuid4().int % 1000} AS n", "wait": 30})
    elsewhere = admin.post("/api/v1/dashboards", json={"name": f"Elsewhere {uuid.uuid4().hex[:6]}"}).json()
    admin.get(f"/api/v1/dashboards/{elsewhere['id']}")
    settle_stored(server, None)  # every organization's: the other one's must not count here
    after = usage(new_org.admin)["usage"]
    assert after["api_calls"] == before["api_calls"] + 1
    assert (after["query_runs"], after["dashboard_views"], after["dashboards"]) == (
        before["query_runs"],
        before["dashboard_views"],
        before["dashboards"],
    )
    assert elsewhere["id"] not in dashboard_activity(new_org.admin)
    assert set(user_activity(new_org)) == {
        new_org.admin_user_id,
        new_org.editor_user_id,
        new_org.viewer_user_id,
    }


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("limited") / "data"
    settings, databases = make_settings(
        data_dir, "sqlite", limits={"rows": 1_000_000, "data_sets": 20, "api_calls_per_month": 2}
    )
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        databases.drop()


def test_limits_come_from_the_settings_and_are_not_enforced(limited_server: LiveServer) -> None:
    with httpx.Client(
        base_url=limited_server.url,
        headers={"Authorization": f"Bearer {limited_server.admin_key}"},
        timeout=30,
    ) as client:
        for _ in range(3):
            assert client.get("/api/v1/queries").status_code == 200
        body = usage(client)
    assert body["usage"]["api_calls"] >= 3  # past the limit, and nothing was refused
    assert body["limits"] == {
        "rows": 1_000_000,
        "data_sets": 20,
        "dashboards": None,
        "users": None,
        "storage_mb": None,
        "api_calls_per_month": 2,
    }


def test_calls_without_a_user_count_for_the_org_only(server: LiveServer, new_org: Org) -> None:
    query = new_org.editor.post("/api/v1/queries", json={"name": "keyed", "sql": "SELECT 1 AS one"}).json()
    issued = new_org.editor.post(f"/api/v1/queries/{query['id']}/api-keys", json={"name": "embed"})
    assert issued.status_code == 201, issued.text
    settle_stored(server, new_org.id)
    before = usage(new_org.admin)["usage"]["api_calls"]
    by_user_before = sum(u["api_calls"] for u in user_activity(new_org).values())
    keyed = httpx.get(
        f"{server.url}/api/v1/queries/{query['id']}",
        headers={"Authorization": f"Bearer {issued.json()['key']}"},
        timeout=30,
    )
    assert keyed.status_code == 200, keyed.text
    wait_until_stored(server, new_org.id, before + 3)
    # The user activity report, the key's call and this report.
    assert usage(new_org.admin)["usage"]["api_calls"] == before + 3
    by_user_after = sum(u["api_calls"] for u in user_activity(new_org).values())
    assert by_user_after == by_user_before + 2  # the two admin reports in between; not the key's call
