"""Native API /api/v1/teams on a live server: CRUD, members, parameters and the rows members read."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.conftest import Org

ROWS = [
    {"id": 1, "region": "EU", "sales": 10},
    {"id": 2, "region": "US", "sales": 20},
    {"id": 3, "region": "APAC", "sales": 30},
    {"id": 4, "region": "EU", "sales": 5},
]


def team(org: Org, name: str | None = None, **body: Any) -> dict[str, Any]:
    response = org.admin.post("/api/v1/teams", json={"name": name or f"team-{uuid.uuid4().hex[:6]}", **body})
    assert response.status_code == 201, response.text
    return response.json()


def regions(client: httpx.Client, dataset_id: int) -> list[str]:
    response = client.get(f"/api/v1/datasets/{dataset_id}/data", params={"format": "json"})
    assert response.status_code == 200, response.text
    return sorted(row["region"] for row in json.loads(response.content)["rows"])


def sales_dataset(org: Org) -> int:
    created = org.editor.post(
        "/api/v1/datasets",
        json={
            "name": f"ds_{uuid.uuid4().hex[:8]}",
            "columns": [
                {"name": "id", "type": "int"},
                {"name": "region", "type": "string"},
                {"name": "sales", "type": "int"},
            ],
            "primary_key": ["id"],
        },
    )
    assert created.status_code == 201, created.text
    dataset_id = int(created.json()["id"])
    assert org.editor.post(f"/api/v1/datasets/{dataset_id}/rows", json=ROWS).status_code == 200
    return dataset_id


def test_team_crud(new_org: Org) -> None:
    created = team(new_org, "Sales", description="EU sales", parameters={"region": ["EU"]})
    assert created["name"] == "Sales" and created["parameters"] == {"region": ["EU"]}
    assert created["member_ids"] == [] and created["uuid"] and created["created_at"]
    base = f"/api/v1/teams/{created['id']}"
    assert new_org.admin.post("/api/v1/teams", json={"name": "Sales"}).status_code == 409
    assert new_org.admin.post("/api/v1/teams", json={"name": ""}).status_code in (400, 422)
    assert new_org.editor.post("/api/v1/teams", json={"name": "Mine"}).status_code == 403
    assert [t["name"] for t in new_org.viewer.get("/api/v1/teams").json()["items"]] == ["Sales"]
    patched = new_org.admin.patch(base, json={"name": "Sales EU", "description": "Europe"})
    assert patched.status_code == 200 and patched.json()["name"] == "Sales EU"
    assert new_org.viewer.get(base).json()["description"] == "Europe"
    assert new_org.admin.delete(base).status_code == 204
    assert new_org.admin.get(base).status_code == 404


def test_members_and_parameters(new_org: Org) -> None:
    base = f"/api/v1/teams/{team(new_org)['id']}"
    viewer_id = new_org.viewer_user_id
    for _ in range(2):  # adding a member again is a no-op
        assert new_org.admin.post(f"{base}/members", json={"user_id": viewer_id}).status_code == 204
    assert [u["id"] for u in new_org.admin.get(f"{base}/members").json()["items"]] == [viewer_id]
    assert new_org.admin.get(base).json()["member_ids"] == [viewer_id]
    assert new_org.admin.post(f"{base}/members", json={"user_id": 999_999}).status_code == 404
    assert new_org.editor.post(f"{base}/members", json={"user_id": viewer_id}).status_code == 403

    put = new_org.admin.put(f"{base}/parameters/region", json={"values": ["EU", "US"]})
    assert put.status_code == 200 and put.json()["parameters"] == {"region": ["EU", "US"]}
    single = new_org.admin.put(f"{base}/parameters/year", json={"values": 2024})
    assert single.json()["parameters"]["year"] == [2024]
    assert new_org.admin.put(f"{base}/parameters/year", json={"values": []}).status_code in (400, 422)
    removed = new_org.admin.delete(f"{base}/parameters/year")
    assert removed.status_code == 200 and removed.json()["parameters"] == {"region": ["EU", "US"]}
    assert new_org.admin.delete(f"{base}/parameters/year").status_code == 404

    assert new_org.admin.delete(f"{base}/members/{viewer_id}").status_code == 204
    assert new_org.admin.delete(f"{base}/members/{viewer_id}").status_code == 404
    assert new_org.admin.get(f"{base}/members").json()["items"] == []


def test_team_parameters_filter_the_rows_members_read(new_org: Org) -> None:
    dataset_id = sales_dataset(new_org)
    everything = ["APAC", "EU", "EU", "US"]
    assert regions(new_org.viewer, dataset_id) == everything

    eu = team(new_org, parameters={"region": ["EU"]})
    new_org.admin.post(f"/api/v1/teams/{eu['id']}/members", json={"user_id": new_org.viewer_user_id})
    assert regions(new_org.viewer, dataset_id) == ["EU", "EU"]
    assert regions(new_org.admin, dataset_id) == everything
    assert regions(new_org.editor, dataset_id) == everything  # in no team

    # Two teams: the union of their values; a parameter naming no column filters nothing.
    us = team(new_org, parameters={"region": ["US"], "colour": ["red"]})
    new_org.admin.post(f"/api/v1/teams/{us['id']}/members", json={"user_id": new_org.viewer_user_id})
    assert regions(new_org.viewer, dataset_id) == ["EU", "EU", "US"]

    assert new_org.admin.delete(f"/api/v1/teams/{eu['id']}").status_code == 204
    assert new_org.admin.delete(f"/api/v1/teams/{us['id']}/parameters/region").status_code == 200
    assert regions(new_org.viewer, dataset_id) == everything


def test_another_organization_cannot_see_or_change_a_team(
    server: Any, admin: httpx.Client, new_org: Org
) -> None:
    created = team(new_org)
    base = f"/api/v1/teams/{created['id']}"
    slug = f"org-{uuid.uuid4().hex[:10]}"
    other = admin.post("/api/v1/organizations", json={"name": slug, "admin_email": f"a@{slug}.test"})
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {other.json()['api_key']}"}
    ) as c:
        assert c.get(base).status_code == 404
        assert c.patch(base, json={"name": "mine"}).status_code == 404
        assert c.put(f"{base}/parameters/region", json={"values": ["US"]}).status_code == 404
        assert c.delete(base).status_code == 404
        assert c.get("/api/v1/teams").json()["items"] == []
        assert c.delete(f"/api/v1/users/{new_org.viewer_user_id}").status_code == 404
    assert new_org.admin.get(base).status_code == 200


def test_delete_user_and_its_guards(new_org: Org) -> None:
    base = f"/api/v1/teams/{team(new_org)['id']}"
    new_org.admin.post(f"{base}/members", json={"user_id": new_org.viewer_user_id})
    assert new_org.editor.delete(f"/api/v1/users/{new_org.viewer_user_id}").status_code == 403
    assert new_org.admin.delete(f"/api/v1/users/{new_org.admin_user_id}").status_code in (400, 422)

    assert new_org.viewer.get("/api/v1/me").status_code == 200
    assert new_org.admin.delete(f"/api/v1/users/{new_org.viewer_user_id}").status_code == 204
    assert new_org.viewer.get("/api/v1/me").status_code == 401  # the key went with the user
    assert new_org.admin.get(f"/api/v1/users/{new_org.viewer_user_id}").status_code == 404
    assert new_org.admin.get(base).json()["member_ids"] == []

    # The last enabled admin is guarded too (tests/core/test_teams.py): over HTTP the only admin left
    # can only be the caller, and nobody can delete themselves.
    refused = new_org.admin.delete(f"/api/v1/users/{new_org.admin_user_id}")
    assert "yourself" in refused.text
