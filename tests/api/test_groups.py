"""Native API /api/v1/groups and a user's groups and privileges, on a live server."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Org


def group(org: Org, name: str | None = None, **body: Any) -> dict[str, Any]:
    response = org.admin.post("/api/v1/groups", json={"name": name or f"g-{uuid.uuid4().hex[:6]}", **body})
    assert response.status_code == 201, response.text
    return response.json()


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [g["name"] for g in response.json()["items"]]


def test_group_crud(new_org: Org) -> None:
    created = group(
        new_org, "Sales", display_name="Sales team", privileges=["DATADOWNLOADING"], visibility="NON_SHARABLE"
    )
    assert created["display_name"] == "Sales team" and created["privileges"] == ["DATADOWNLOADING"]
    assert created["visibility"] == "NON_SHARABLE" and created["author_id"] == new_org.admin_user_id
    assert created["uuid"] and created["created_at"] and created["parameters"] == {}
    base = f"/api/v1/groups/{created['id']}"
    group(new_org, "Audit")
    assert names(new_org.viewer.get("/api/v1/groups")) == ["Audit", "Sales"]
    assert names(new_org.viewer.get("/api/v1/groups", params={"pattern": "sales TEAM"})) == ["Sales"]
    # A group is a team: the teams API sees it too.
    assert new_org.viewer.get(f"/api/v1/teams/{created['id']}").json()["name"] == "Sales"

    assert new_org.admin.post("/api/v1/groups", json={"name": "Sales"}).status_code == 409
    bad = new_org.admin.post("/api/v1/groups", json={"name": "X", "privileges": ["ROOT"]})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "privileges"
    assert new_org.admin.post("/api/v1/groups", json={"name": "X", "visibility": "SECRET"}).status_code == 422
    assert new_org.editor.post("/api/v1/groups", json={"name": "Mine"}).status_code == 403

    patched = new_org.admin.patch(base, json={"name": "Sales EU", "visibility": "DEFAULT", "privileges": []})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["visibility"], patched.json()["privileges"]) == (
        "Sales EU",
        "DEFAULT",
        [],
    )
    assert new_org.admin.delete(base).status_code == 204
    missing = new_org.admin.get(base)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_members_nesting_and_a_users_groups(new_org: Org) -> None:
    outer, inner = group(new_org, "Outer"), group(new_org, "Inner")
    viewer, editor = new_org.viewer_user_id, new_org.editor_user_id
    inner_base, outer_base = f"/api/v1/groups/{inner['id']}", f"/api/v1/groups/{outer['id']}"

    put = new_org.admin.put(f"{inner_base}/members", json={"user_ids": [viewer, editor], "operation": "ADD"})
    assert put.status_code == 204, put.text
    assert (
        new_org.admin.put(
            f"{inner_base}/members", json={"user_ids": [editor], "operation": "REMOVE"}
        ).status_code
        == 204
    )
    assert [u["id"] for u in new_org.viewer.get(f"{inner_base}/members").json()["items"]] == [viewer]
    assert new_org.admin.put(f"{inner_base}/members", json={"user_ids": [10**9]}).status_code == 404
    assert (
        new_org.admin.put(f"{inner_base}/members", json={"user_ids": [], "operation": "MERGE"}).status_code
        == 422
    )
    assert new_org.editor.put(f"{inner_base}/members", json={"user_ids": [editor]}).status_code == 403

    assert new_org.admin.put(f"{outer_base}/groups", json={"group_ids": [inner["id"]]}).status_code == 204
    assert names(new_org.viewer.get(f"{outer_base}/groups")) == ["Inner"]
    assert names(new_org.viewer.get(f"{inner_base}/parents")) == ["Outer"]
    cycle = new_org.admin.put(f"{inner_base}/groups", json={"group_ids": [outer["id"]], "operation": "ADD"})
    assert cycle.status_code == 422 and "cycle" in cycle.json()["error"]["message"]

    mine = new_org.viewer.get(f"/api/v1/users/{viewer}/groups").json()
    assert [g["name"] for g in mine["items"]] == ["Inner"]
    assert [g["name"] for g in mine["inherited"]] == ["Outer"]
    put = new_org.admin.put(
        f"/api/v1/users/{editor}/groups", json={"group_ids": [outer["id"]], "operation": "ADD"}
    )
    assert put.status_code == 204
    assert names(new_org.admin.get(f"/api/v1/users/{editor}/groups")) == ["Outer"]
    assert new_org.admin.put(f"/api/v1/users/{editor}/groups", json={"group_ids": []}).status_code == 204
    assert names(new_org.admin.get(f"/api/v1/users/{editor}/groups")) == []


def test_privileges_of_a_group_reach_its_members(new_org: Org) -> None:
    data = group(new_org, "Data")
    base = f"/api/v1/groups/{data['id']}"
    viewer = new_org.viewer_user_id
    assert new_org.viewer.get(f"/api/v1/users/{viewer}/privileges").json() == {
        "privileges": ["AUTHORING", "DATADOWNLOADING"]
    }
    assert new_org.viewer.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1"}).status_code == 403

    added = new_org.admin.put(
        f"{base}/privileges", json={"privileges": ["DATAMANAGEMENT", "RANALYSIS"], "operation": "ADD"}
    )
    assert added.status_code == 200 and added.json()["privileges"] == ["DATAMANAGEMENT", "RANALYSIS"]
    removed = new_org.admin.put(
        f"{base}/privileges", json={"privileges": ["RANALYSIS"], "operation": "REMOVE"}
    )
    assert removed.json()["privileges"] == ["DATAMANAGEMENT"]
    assert new_org.viewer.get(f"{base}/privileges").json() == {"privileges": ["DATAMANAGEMENT"]}
    assert new_org.admin.put(f"{base}/members", json={"user_ids": [viewer]}).status_code == 204

    # The next request of the viewer holds what the group grants.
    assert new_org.viewer.get(f"/api/v1/users/{viewer}/privileges").json()["privileges"] == [
        "AUTHORING",
        "DATADOWNLOADING",
        "DATAMANAGEMENT",
    ]
    created = new_org.viewer.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1"})
    assert created.status_code == 201, created.text
    replaced = new_org.admin.put(f"{base}/privileges", json={"privileges": []})
    assert replaced.status_code == 200 and replaced.json()["privileges"] == []
    assert new_org.viewer.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1"}).status_code == 403


def test_groups_of_another_organization_are_not_found(new_org: Org, admin: Any) -> None:
    theirs = group(new_org, "Theirs")
    # `admin` is the bootstrap superadmin, in another organization.
    assert "Theirs" not in names(admin.get("/api/v1/groups"))
    for method, path, body in (
        ("GET", f"/api/v1/groups/{theirs['id']}", None),
        ("PATCH", f"/api/v1/groups/{theirs['id']}", {"name": "Mine"}),
        ("PUT", f"/api/v1/groups/{theirs['id']}/members", {"user_ids": []}),
        ("GET", f"/api/v1/users/{new_org.viewer_user_id}/groups", None),
        ("GET", f"/api/v1/users/{new_org.viewer_user_id}/privileges", None),
        ("DELETE", f"/api/v1/groups/{theirs['id']}", None),
    ):
        response = admin.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert new_org.admin.get(f"/api/v1/groups/{theirs['id']}").status_code == 200
