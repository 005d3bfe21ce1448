"""Native API /api/v1/shares on a live server: defined and effective shares, grants, bulk access."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from openlytics.testing import LiveServer
from tests.conftest import Org


def another_viewer(server: LiveServer, org: Org) -> tuple[int, httpx.Client]:
    user = org.admin.post("/api/v1/users", json={"email": f"v-{uuid.uuid4().hex[:6]}@x.test", "name": "v"})
    assert user.status_code == 201, user.text
    key = org.admin.post("/api/v1/api-keys", json={"name": "v", "user_id": user.json()["id"]}).json()["key"]
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return user.json()["id"], client


def query(org: Org) -> int:
    created = org.editor.post("/api/v1/queries", json={"name": "shared", "sql": "SELECT 1 AS n"})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def put(client: httpx.Client, path: str, *grants: dict[str, Any]) -> httpx.Response:
    return client.put(path, json={"grants": list(grants)})


def test_sharing_restricts_a_query_to_its_grantees(server: LiveServer, new_org: Org) -> None:
    query_id = query(new_org)
    path = f"/api/v1/shares/query/{query_id}"
    other_id, other = another_viewer(server, new_org)
    try:
        unshared = new_org.viewer.get(path)
        assert unshared.status_code == 200, unshared.text
        assert unshared.json() == {
            "kind": "query",
            "object_id": query_id,
            "type": "defined",
            "access": "READ_ONLY",
            "grants": [],
        }
        shared = put(
            new_org.editor, path, {"principal": "user", "id": new_org.viewer_user_id, "mode": "READ_ONLY"}
        )
        assert shared.status_code == 200, shared.text
        assert shared.json()["grants"] == [
            {"principal": "user", "id": new_org.viewer_user_id, "mode": "READ_ONLY"}
        ]
        assert new_org.viewer.get(path).json()["access"] == "READ_ONLY"
        hidden = other.get(path)
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
        assert other.post("/api/v1/shares/access", json={"query": [query_id]}).json() == {
            "query": {str(query_id): "NO_ACCESS"}
        }
        # Only those who may modify it share it.
        denied = put(new_org.viewer, path, {"principal": "user", "id": other_id, "mode": "READ_ONLY"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
        removed = put(
            new_org.editor, path, {"principal": "user", "id": new_org.viewer_user_id, "mode": "NO_ACCESS"}
        )
        assert removed.status_code == 200 and removed.json()["grants"] == []
    finally:
        other.close()


def test_a_group_share_and_the_effective_view(server: LiveServer, new_org: Org) -> None:
    query_id = query(new_org)
    path = f"/api/v1/shares/query/{query_id}"
    outer = new_org.admin.post("/api/v1/groups", json={"name": "Outer"}).json()
    inner = new_org.admin.post("/api/v1/groups", json={"name": "Inner"}).json()
    assert (
        new_org.admin.put(
            f"/api/v1/groups/{outer['id']}/groups", json={"group_ids": [inner["id"]]}
        ).status_code
        == 204
    )
    other_id, other = another_viewer(server, new_org)
    try:
        assert (
            new_org.admin.put(
                f"/api/v1/groups/{inner['id']}/members", json={"user_ids": [other_id]}
            ).status_code
            == 204
        )
        shared = put(new_org.editor, path, {"principal": "group", "id": outer["id"], "mode": "MODIFY"})
        assert shared.status_code == 200, shared.text
        assert other.get(path).json()["access"] == "READ_ONLY"  # a viewer's role does not write
        assert new_org.viewer.get(path).status_code == 404
        effective = new_org.admin.get(path, params={"type": "effective"}).json()
        users = sorted([new_org.editor_user_id, other_id])
        assert effective["type"] == "effective" and effective["grants"] == [
            *({"principal": "user", "id": i, "mode": "MODIFY"} for i in users),
            {"principal": "group", "id": outer["id"], "mode": "MODIFY"},
        ]
        reached = other.get("/api/v1/shares", params={"principal": "user", "id": other_id}).json()
        assert reached == {"items": [{"kind": "query", "object_id": query_id, "mode": "MODIFY"}]}
        assert (
            new_org.viewer.get("/api/v1/shares", params={"principal": "user", "id": other_id}).status_code
            == 403
        )

        # Deleting the group deletes its share: the query is open to the organization again.
        assert new_org.admin.delete(f"/api/v1/groups/{outer['id']}").status_code == 204
        assert new_org.admin.get(path).json()["grants"] == []
        assert new_org.viewer.get(path).json()["access"] == "READ_ONLY"
    finally:
        other.close()


def test_bad_grants_change_nothing(new_org: Org, admin: httpx.Client) -> None:
    query_id = query(new_org)
    path = f"/api/v1/shares/query/{query_id}"
    closed = new_org.admin.post(
        "/api/v1/groups", json={"name": "Closed", "visibility": "NON_SHARABLE"}
    ).json()
    me = admin.get("/api/v1/me").json()["user"]["id"]  # the bootstrap admin: another organization
    viewer = {"principal": "user", "id": new_org.viewer_user_id, "mode": "READ_ONLY"}
    for bad, status in (
        ({"principal": "user", "id": me, "mode": "READ_ONLY"}, 404),
        ({"principal": "group", "id": closed["id"], "mode": "READ_ONLY"}, 422),
        ({"principal": "role", "id": 1, "mode": "READ_ONLY"}, 422),
        ({"principal": "user", "id": new_org.viewer_user_id, "mode": "OWNER"}, 422),
    ):
        response = put(new_org.editor, path, viewer, bad)
        assert response.status_code == status, (bad, response.text)
        assert response.json()["error"]["code"] in ("not_found", "invalid_input")
    assert new_org.editor.get(path).json()["grants"] == []
    assert new_org.editor.get("/api/v1/shares/spreadsheet/1").status_code == 422
    assert new_org.editor.get(f"/api/v1/shares/query/{10**9}").status_code == 404
    assert admin.get(path).status_code == 404


def test_bulk_access_answers_each_kind(new_org: Org) -> None:
    query_id = query(new_org)
    board = new_org.editor.post("/api/v1/dashboards", json={"name": f"b-{uuid.uuid4().hex[:6]}"})
    assert board.status_code == 201, board.text
    asked = {"query": [query_id, 10**9], "dashboard": [board.json()["id"]]}
    answer = new_org.viewer.post("/api/v1/shares/access", json=asked)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "query": {str(query_id): "READ_ONLY", str(10**9): "NO_ACCESS"},
        "dashboard": {str(board.json()["id"]): "READ_ONLY"},
    }
    assert new_org.editor.post("/api/v1/shares/access", json=asked).json()["query"][str(query_id)] == "MODIFY"
    assert new_org.viewer.post("/api/v1/shares/access", json={"report": [1]}).status_code == 422
