"""Account usage and activity, dashboards with thumbnails and snapshots, schedules and triggers."""

from __future__ import annotations

import base64
import time
from typing import Any

import pandas as pd

from openlytics.testing import LiveServer
from tests.conftest import settle_stored
from tests.dialects.clicdata import wrapper_client as wc
from tests.dialects.clicdata.conftest import ClicData, png_size


def make_dashboard(cd: ClicData, name: str) -> dict[str, Any]:
    admin = cd.org.admin
    query = admin.post(
        "/api/v1/queries",
        json={"name": f"{name} q", "sql": "SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'b', 2"},
    ).json()
    ran = admin.post(f"/api/v1/queries/{query['id']}/run", json={"wait": 30})
    assert ran.status_code == 200, ran.text  # the widget draws these rows
    viz = admin.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
    dashboard = admin.post("/api/v1/dashboards", json={"name": name}).json()
    for widget in ({"visualization_id": viz["id"]}, {"text": f"# {name}"}):
        assert admin.post(f"/api/v1/dashboards/{dashboard['id']}/widgets", json=widget).status_code == 201
    return dashboard


def test_account_usage_moves_with_activity(cd: ClicData) -> None:
    cd.manager()
    account = wc.Account()
    before = account.get_account(output="dict")
    assert set(before) == {"account", "usage", "limits"}
    assert before["account"]["id"] == cd.org.id and before["account"]["period_start"]
    assert {"data_sets", "rows", "dashboards", "users", "storage_mb", "api_calls"} <= set(before["usage"])
    assert set(before["limits"]) <= set(before["usage"])
    frame = account.get_account()  # the wrapper's default: a DataFrame from the nested objects
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["account", "usage", "limits"]
    rec_id = int(wc.Data().create_data(name="Usage", cols={"n": "number"}).text)
    body = {"data": [[{"column": "n", "value": i}] for i in range(25)]}
    assert cd.call("POST", f"data/{rec_id}/row", json=body).status_code == 200
    make_dashboard(cd, "Usage board")
    after = account.get_account(output="dict")["usage"]
    assert after["data_sets"] == before["usage"]["data_sets"] + 1
    assert after["rows"] == before["usage"]["rows"] + 25
    assert after["dashboards"] == before["usage"]["dashboards"] + 1
    assert after["api_calls"] > before["usage"]["api_calls"]


def test_activity_of_users_and_dashboards(cd: ClicData, server: LiveServer) -> None:
    dashboard = make_dashboard(cd, "Watched")
    for _ in range(2):
        assert cd.org.viewer.get(f"/api/v1/dashboards/{dashboard['id']}").status_code == 200
    cd.session("editor").api_call("data", "get")
    cd.manager()
    settle_stored(server, cd.org.id)  # each API process writes its activity every second
    account = wc.Account()
    users = account.get_account_activity("users", output="dict")
    by_user = {u["user_id"]: u for u in users}
    assert set(by_user) >= {cd.org.admin_user_id, cd.org.editor_user_id, cd.org.viewer_user_id}
    assert by_user[cd.org.viewer_user_id]["views"] >= 2
    assert by_user[cd.org.editor_user_id]["api_calls"] >= 1
    boards = account.get_account_activity("dashboards", output="dict")
    watched = next(b for b in boards if b["rec_id"] == dashboard["id"])
    assert watched["dashboard"] == "Watched" and watched["views"] >= 2 and watched["viewers"] >= 1
    assert isinstance(account.get_account_activity("dashboards"), pd.DataFrame)


def test_dashboards_with_and_without_thumbnails(cd: ClicData) -> None:
    first = make_dashboard(cd, "Sales board")
    make_dashboard(cd, "Costs board")
    cd.manager()
    boards = wc.Dashboard()
    plain = boards.get_dashboard(output="dict")["dashboards"]
    assert sorted(b["name"] for b in plain) == ["Costs board", "Sales board"]
    assert all("thumbnail" not in b and b["created_date"] and b["modified_date"] for b in plain)
    named = boards.get_dashboard(thumbnail=True, name="sales", output="dict")["dashboards"]
    assert [b["rec_id"] for b in named] == [first["id"]]
    width, height = png_size(base64.b64decode(named[0]["thumbnail"]))
    assert 0 < width <= 600 and height > 0
    frame = boards.get_dashboard(thumbnail=False)
    assert list(frame["name"]).count("Costs board") == 1


def test_thumbnail_and_snapshot_as_base64_or_image(cd: ClicData) -> None:
    dashboard = make_dashboard(cd, "Pictures")
    cd.manager()
    boards = wc.Dashboard()
    thumb_w, _ = png_size(boards.get_dashboard_thumbnail(dashboard["id"], output="image"))  # type: ignore[arg-type]
    snap_w, _ = png_size(boards.get_dashboard_snapshot(dashboard["id"], output="image"))  # type: ignore[arg-type]
    assert 0 < thumb_w < snap_w
    for kind in ("thumbnail", "snapshot"):
        text = cd.call("GET", f"dashboard/{dashboard['id']}/{kind}")
        assert text.headers["content-type"].startswith("text/plain")
        png_size(base64.b64decode(text.text))
        image = cd.call("GET", f"dashboard/{dashboard['id']}/{kind}", params={"format": "image"})
        assert image.headers["content-type"] == "image/png"
        png_size(image.content)
        accepted = cd.call("GET", f"dashboard/{dashboard['id']}/{kind}", headers={"accept": "image/png"})
        assert accepted.content[:4] == b"\x89PNG"
    missing = cd.call("GET", "dashboard/999999/thumbnail")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_schedules_list_get_and_trigger(cd: ClicData) -> None:
    admin = cd.org.admin
    query = admin.post("/api/v1/queries", json={"name": "tick", "sql": "SELECT 1 AS one"}).json()
    hourly = admin.post(
        "/api/v1/schedules",
        json={"name": "Hourly", "kind": "query_refresh", "target_id": query["id"], "interval_seconds": 7200},
    )
    assert hourly.status_code == 201, hourly.text
    daily = admin.post(
        "/api/v1/schedules",
        json={"name": "Daily", "target_id": query["id"], "cron": "0 6 * * *", "timezone": "Europe/Paris"},
    ).json()
    cd.manager()
    schedules = wc.Schedule()
    listed = schedules.get_schedule(output="dict")
    assert [(s["name"], s["frequency"], s["status"]) for s in listed] == [
        ("Hourly", "every 2 hours", "never run"),
        ("Daily", "cron 0 6 * * * (Europe/Paris)", "never run"),
    ]
    assert all(s["enabled"] is True and s["next_run"] for s in listed)
    one = schedules.get_schedule(rec_id=daily["id"])
    assert isinstance(one, pd.DataFrame) and list(one["rec_id"]) == [daily["id"]]
    triggered = schedules.trigger_schedule(daily["id"])  # GET, as the wrapper sends it
    assert triggered.status_code == 200 and triggered.json()["success"] is True
    assert triggered.json()["run"]["manual"] is True and triggered.json()["run"]["job_id"]
    time.sleep(0.01)
    posted = cd.call("POST", f"schedule/{daily['id']}/trigger")  # POST, as the README says
    assert posted.status_code == 200 and posted.json()["run"]["rec_id"] != triggered.json()["run"]["rec_id"]
    after = schedules.get_schedule(rec_id=daily["id"], output="dict")[0]
    assert after["status"] == "succeeded" and after["last_run"]
    refused = cd.call("GET", f"schedule/{daily['id']}/trigger", role="viewer")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert cd.call("GET", "schedule/999999").status_code == 404
