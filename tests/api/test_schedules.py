"""Schedules through the API: interval firing on the server's scheduler, trigger now, validation."""

from __future__ import annotations

import time


def test_interval_schedule_refreshes_a_query(new_org) -> None:
    q = new_org.editor.post("/api/v1/queries", json={"name": "tick", "sql": "SELECT now() AS at"}).json()
    created = new_org.editor.post(
        "/api/v1/schedules", json={"kind": "query_refresh", "target_id": q["id"], "interval_seconds": 1}
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["next_run_at"] is not None
    deadline = time.monotonic() + 20
    runs: list = []
    while time.monotonic() < deadline:
        runs = new_org.viewer.get(f"/api/v1/schedules/{schedule['id']}/runs").json()["items"]
        if len(runs) >= 2 and all(r["job_id"] for r in runs):
            break
        time.sleep(0.2)
    assert len(runs) >= 2
    assert len({r["due_at"] for r in runs}) == len(runs)  # each due time fired once
    job = new_org.viewer.get(f"/api/v1/jobs/{runs[0]['job_id']}").json()
    assert job["query_id"] == q["id"]
    assert (
        new_org.editor.patch(f"/api/v1/schedules/{schedule['id']}", json={"enabled": False}).status_code
        == 200
    )
    assert new_org.editor.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204


def test_trigger_now_fires_a_manual_run(new_org) -> None:
    q = new_org.editor.post("/api/v1/queries", json={"name": "daily", "sql": "SELECT 1 AS one"}).json()
    schedule = new_org.editor.post(
        "/api/v1/schedules",
        json={"target_id": q["id"], "cron": "0 6 * * *", "timezone": "Europe/Paris"},
    ).json()
    run = new_org.editor.post(f"/api/v1/schedules/{schedule['id']}/trigger")
    assert run.status_code == 200, run.text
    assert run.json()["manual"] is True and run.json()["job_id"]
    assert new_org.viewer.post(f"/api/v1/schedules/{schedule['id']}/trigger").status_code == 403


def test_invalid_schedules_are_rejected(new_org, admin) -> None:
    q = new_org.editor.post("/api/v1/queries", json={"name": "x", "sql": "SELECT 1"}).json()
    bad = [
        {"target_id": q["id"], "cron": "not cron"},
        {"target_id": q["id"], "interval_seconds": 60, "timezone": "Mars/Olympus"},
        {"target_id": q["id"]},
        {"target_id": q["id"], "interval_seconds": 60, "cron": "* * * * *"},
    ]
    for body in bad:
        response = new_org.editor.post("/api/v1/schedules", json=body)
        assert response.status_code == 422, (body, response.text)
    other_org_query = admin.post("/api/v1/queries", json={"name": "theirs", "sql": "SELECT 1"}).json()
    assert (
        new_org.editor.post(
            "/api/v1/schedules", json={"target_id": other_org_query["id"], "interval_seconds": 60}
        ).status_code
        == 404
    )
