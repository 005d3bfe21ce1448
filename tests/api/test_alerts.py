"""Alerts, subscriptions and notification destinations through the native API."""

from __future__ import annotations

import time

import httpx
import pytest


@pytest.fixture
def query(new_org) -> dict:
    created = new_org.editor.post(
        "/api/v1/queries", json={"name": "backlog", "sql": "SELECT 12 AS open_tickets"}
    )
    assert created.status_code == 201, created.text
    return created.json()


def new_alert(client: httpx.Client, query_id: int, **fields) -> dict:
    body = {
        "name": "Backlog too long",
        "query_id": query_id,
        "options": {"column": "open_tickets", "op": ">", "value": 10},
    }
    created = client.post("/api/v1/alerts", json={**body, **fields})
    assert created.status_code == 201, created.text
    return created.json()


def test_alert_lifecycle_and_its_state_after_a_run(new_org, query: dict) -> None:
    alert = new_alert(new_org.editor, query["id"], rearm=3600)
    assert alert["state"] == "unknown" and alert["rearm"] == 3600 and alert["user"]["name"] == "editor"
    assert new_org.viewer.get(f"/api/v1/alerts/{alert['id']}").json()["name"] == "Backlog too long"
    listed = new_org.viewer.get("/api/v1/alerts").json()
    assert listed["total"] == 1 and set(listed) == {"items", "page", "per_page", "total"}
    ran = new_org.editor.post(f"/api/v1/queries/{query['id']}/run", json={"wait": 30})
    assert ran.status_code == 200, ran.text
    state = "unknown"
    for _ in range(100):  # evaluated by the runner once the result is stored
        state = new_org.viewer.get(f"/api/v1/alerts/{alert['id']}").json()["state"]
        if state != "unknown":
            break
        time.sleep(0.05)
    assert state == "triggered"
    edited = new_org.editor.patch(
        f"/api/v1/alerts/{alert['id']}",
        json={"muted": True, "rearm": None, "options": {"column": "open_tickets", "op": "<", "value": 5}},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["muted"] is True and edited.json()["rearm"] is None
    assert edited.json()["options"]["op"] == "<"
    assert new_org.editor.delete(f"/api/v1/alerts/{alert['id']}").status_code == 204
    assert new_org.viewer.get(f"/api/v1/alerts/{alert['id']}").status_code == 404


def test_subscriptions_to_people_and_destinations(new_org, query: dict) -> None:
    alert = new_alert(new_org.editor, query["id"])
    author = new_org.viewer.get(f"/api/v1/alerts/{alert['id']}/subscriptions").json()["items"]
    assert [(s["user_id"], s["destination_id"]) for s in author] == [(new_org.editor_user_id, None)]
    hook = new_org.admin.post(
        "/api/v1/destinations",
        json={
            "name": "ops hook",
            "kind": "webhook",
            "options": {"url": "http://127.0.0.1:9/hook", "password": "pw", "username": "u"},
        },
    )
    assert hook.status_code == 201, hook.text
    assert hook.json()["options"]["password"] != "pw" and hook.json()["kind"] == "webhook"
    by_hook = new_org.editor.post(
        f"/api/v1/alerts/{alert['id']}/subscriptions", json={"destination_id": hook.json()["id"]}
    )
    assert by_hook.status_code == 201 and by_hook.json()["destination_id"] == hook.json()["id"]
    viewer_sub = new_org.viewer.post(f"/api/v1/alerts/{alert['id']}/subscriptions")
    assert viewer_sub.status_code == 201 and viewer_sub.json()["user_id"] == new_org.viewer_user_id
    assert new_org.viewer.get(f"/api/v1/alerts/{alert['id']}/subscriptions").json()["total"] == 3
    refused = new_org.viewer.delete(f"/api/v1/alerts/{alert['id']}/subscriptions/{by_hook.json()['id']}")
    assert refused.status_code == 403
    assert (
        new_org.viewer.delete(
            f"/api/v1/alerts/{alert['id']}/subscriptions/{viewer_sub.json()['id']}"
        ).status_code
        == 204
    )
    assert new_org.admin.delete(f"/api/v1/destinations/{hook.json()['id']}").status_code == 204
    remaining = new_org.viewer.get(f"/api/v1/alerts/{alert['id']}/subscriptions").json()["items"]
    assert [s["user_id"] for s in remaining] == [new_org.editor_user_id]


def test_destinations_are_listed_to_all_and_managed_by_admins(new_org) -> None:
    mail = new_org.admin.post(
        "/api/v1/destinations",
        json={"name": "team", "kind": "email", "options": {"addresses": "a@x.test, b@x.test"}},
    )
    assert mail.status_code == 201, mail.text
    assert mail.json()["options"] == {"addresses": ["a@x.test", "b@x.test"]}
    assert new_org.viewer.get(f"/api/v1/destinations/{mail.json()['id']}").json()["name"] == "team"
    assert new_org.viewer.get("/api/v1/destinations").json()["total"] == 1
    for response in (
        new_org.editor.post(
            "/api/v1/destinations",
            json={"name": "x", "kind": "email", "options": {"addresses": ["a@x.test"]}},
        ),
        new_org.editor.delete(f"/api/v1/destinations/{mail.json()['id']}"),
    ):
        assert response.status_code == 403, response.text
    duplicate = new_org.admin.post(
        "/api/v1/destinations", json={"name": "team", "kind": "email", "options": {"addresses": ["c@x.test"]}}
    )
    assert duplicate.status_code == 409


def test_destinations_can_be_renamed_and_re_pointed(new_org) -> None:
    hook = new_org.admin.post(
        "/api/v1/destinations",
        json={"name": "hook", "kind": "webhook", "options": {"url": "http://a.test/x", "password": "s3"}},
    ).json()
    assert hook["options"]["password"] != "s3"
    changed = new_org.admin.patch(
        f"/api/v1/destinations/{hook['id']}", json={"name": "hook2", "options": {"url": "https://b.test/y"}}
    )
    assert changed.status_code == 200 and changed.json()["name"] == "hook2"
    assert changed.json()["options"] == {"url": "https://b.test/y"}
    bad = new_org.admin.patch(f"/api/v1/destinations/{hook['id']}", json={"options": {"url": "ftp://c.test"}})
    assert bad.status_code == 422 and "url" in bad.json()["error"]["message"]
    assert new_org.editor.patch(f"/api/v1/destinations/{hook['id']}", json={"name": "x"}).status_code == 403
    assert new_org.admin.get(f"/api/v1/destinations/{hook['id']}").json()["name"] == "hook2"


def test_viewers_cannot_change_alerts(new_org, query: dict) -> None:
    alert = new_alert(new_org.editor, query["id"])
    for response in (
        new_org.viewer.post(
            "/api/v1/alerts",
            json={"name": "x", "query_id": query["id"], "options": {"column": "a", "op": ">", "value": 1}},
        ),
        new_org.viewer.patch(f"/api/v1/alerts/{alert['id']}", json={"muted": True}),
        new_org.viewer.delete(f"/api/v1/alerts/{alert['id']}"),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "permission_denied"


def test_another_organization_sees_not_found(new_org, query: dict, admin: httpx.Client) -> None:
    alert = new_alert(new_org.editor, query["id"])
    hook = new_org.admin.post(
        "/api/v1/destinations",
        json={"name": "hook", "kind": "webhook", "options": {"url": "http://127.0.0.1:9/h"}},
    ).json()
    for response in (
        admin.get(f"/api/v1/alerts/{alert['id']}"),
        admin.patch(f"/api/v1/alerts/{alert['id']}", json={"muted": True}),
        admin.delete(f"/api/v1/alerts/{alert['id']}"),
        admin.get(f"/api/v1/alerts/{alert['id']}/subscriptions"),
        admin.post(f"/api/v1/alerts/{alert['id']}/subscriptions"),
        admin.get(f"/api/v1/destinations/{hook['id']}"),
        admin.delete(f"/api/v1/destinations/{hook['id']}"),
        admin.post(
            "/api/v1/alerts",
            json={"name": "x", "query_id": query["id"], "options": {"column": "a", "op": ">", "value": 1}},
        ),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert alert["id"] not in [a["id"] for a in admin.get("/api/v1/alerts").json()["items"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"options": {"column": "open_tickets", "op": "~", "value": 1}}, "options.op"),
        ({"options": {"op": ">", "value": 1}}, "options.column"),
        ({"options": {"column": "open_tickets", "op": ">"}}, "options.value"),
        ({"rearm": -5}, "rearm"),
        ({"name": ""}, "name"),
        ({"query_id": None}, "query_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_alerts_are_rejected_with_the_field_named(
    new_org, query: dict, body: dict, field: str
) -> None:
    base = {
        "name": "a",
        "query_id": query["id"],
        "options": {"column": "open_tickets", "op": ">", "value": 1},
    }
    response = new_org.editor.post("/api/v1/alerts", json={**base, **body})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and field in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "pager", "options": {}}, "kind"),
        ({"name": "x", "kind": "webhook", "options": {"url": "ftp://nope"}}, "options.url"),
        ({"name": "x", "kind": "email", "options": {"addresses": ["not-an-address"]}}, "options.addresses"),
        ({"name": "", "kind": "email", "options": {"addresses": ["a@x.test"]}}, "name"),
    ],
)
def test_invalid_destinations_are_rejected_with_the_field_named(new_org, body: dict, field: str) -> None:
    response = new_org.admin.post("/api/v1/destinations", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
