"""Shares enforced through the native API: an object shared READ_ONLY with a group reaches the
members of a group nested in it (read, list, run; no change), not the organization's other users."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.conftest import Org


@dataclass
class Readers:
    """A "Readers" group holding a "Team" group with an editor and the org's viewer; an outsider
    editor in no group."""

    org: Org
    member: httpx.Client
    outsider: httpx.Client
    group_id: int

    def share(self, kind: str, object_id: int, mode: str = "READ_ONLY") -> None:
        """The admin shares the object with the Readers group (NO_ACCESS removes the share)."""
        grants = [{"principal": "group", "id": self.group_id, "mode": mode}]
        shared = self.org.admin.put(f"/api/v1/shares/{kind}/{object_id}", json={"grants": grants})
        assert shared.status_code == 200, shared.text


def user(server: LiveServer, org: Org, role: str) -> tuple[int, httpx.Client]:
    created = org.admin.post(
        "/api/v1/users", json={"email": f"{role}-{uuid.uuid4().hex[:6]}@x.test", "name": role, "role": role}
    )
    assert created.status_code == 201, created.text
    key = org.admin.post("/api/v1/api-keys", json={"name": role, "user_id": created.json()["id"]})
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    return created.json()["id"], httpx.Client(base_url=server.url, headers=headers, timeout=60)


def made(response: httpx.Response) -> int:
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


@pytest.fixture
def readers(server: LiveServer, new_org: Org) -> Iterator[Readers]:
    admin = new_org.admin
    outer, inner = (
        made(admin.post("/api/v1/groups", json={"name": "Readers"})),
        made(admin.post("/api/v1/groups", json={"name": "Team"})),
    )
    assert admin.put(f"/api/v1/groups/{outer}/groups", json={"group_ids": [inner]}).status_code == 204
    member_id, member = user(server, new_org, "editor")
    _, outsider = user(server, new_org, "editor")
    members = {"user_ids": [member_id, new_org.viewer_user_id]}
    assert admin.put(f"/api/v1/groups/{inner}/members", json=members).status_code == 204
    yield Readers(new_org, member, outsider, outer)
    member.close()
    outsider.close()


@dataclass(frozen=True)
class Kind:
    """How to make, fetch, list and change one kind of object through the API."""

    name: str
    make: Callable[[Org], int]
    path: Callable[[int], str]
    listing: Callable[[int], str]
    change: dict[str, Any]
    outsider_change: int = 404  # the status an outsider's change gets


def query(org: Org) -> int:
    return made(org.editor.post("/api/v1/queries", json={"name": "secret", "sql": "SELECT 1 AS n"}))


def chart(org: Org) -> int:
    body = {"query_id": query(org), "type": "TABLE", "name": "secret chart"}
    return made(org.editor.post("/api/v1/visualizations", json=body))


def chart_query(org: Org, chart_id: int) -> int:
    return int(org.admin.get(f"/api/v1/visualizations/{chart_id}").json()["query_id"])


KINDS = [
    Kind("query", query, lambda i: f"/api/v1/queries/{i}", lambda i: "/api/v1/queries", {"description": "x"}),
    Kind(
        "dashboard",
        lambda org: made(org.editor.post("/api/v1/dashboards", json={"name": "secret board"})),
        lambda i: f"/api/v1/dashboards/{i}",
        lambda i: "/api/v1/dashboards",
        {"name": "renamed"},
    ),
    Kind(
        "dataset",
        lambda org: made(
            org.editor.post(
                "/api/v1/datasets", json={"name": "secret_ds", "columns": [{"name": "id", "type": "int64"}]}
            )
        ),
        lambda i: f"/api/v1/datasets/{i}",
        lambda i: "/api/v1/datasets",
        {"description": "x"},
    ),
    Kind(
        "data_source",
        lambda org: int(org.admin.get("/api/v1/data-sources").json()["items"][0]["id"]),
        lambda i: f"/api/v1/data-sources/{i}",
        lambda i: "/api/v1/data-sources",
        {"name": "renamed"},
        403,  # editors may not manage sources at all: the role refuses before the object is read
    ),
]


def listed(client: httpx.Client, path: str) -> set[int]:
    answer = client.get(path, params={"per_page": 100})
    assert answer.status_code == 200, answer.text
    return {int(item["id"]) for item in answer.json()["items"]}


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_a_shared_object_reaches_group_members_and_is_hidden_from_others(
    readers: Readers, kind: Kind
) -> None:
    org = readers.org
    object_id = kind.make(org)
    path, listing = kind.path(object_id), kind.listing(object_id)
    readers.share(kind.name, object_id)
    for client in (readers.member, org.viewer, org.admin):
        assert client.get(path).status_code == 200
        assert object_id in listed(client, listing)
    hidden = readers.outsider.get(path)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert object_id not in listed(readers.outsider, listing)
    assert readers.outsider.patch(path, json=kind.change).status_code == kind.outsider_change
    denied = readers.member.patch(path, json=kind.change)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    assert org.admin.patch(path, json=kind.change).status_code == 200
    readers.share(kind.name, object_id, "NO_ACCESS")  # the last share removed: open again
    assert readers.outsider.get(path).status_code == 200
    assert object_id in listed(readers.outsider, listing)


def test_a_shared_query_runs_for_group_members_only(readers: Readers) -> None:
    query_id = query(readers.org)
    readers.share("query", query_id)
    ran = readers.org.viewer.post(f"/api/v1/queries/{query_id}/run", json={"wait": 30})
    assert ran.status_code == 200, ran.text
    result_id = ran.json()["result"]["id"]
    assert readers.member.get(f"/api/v1/results/{result_id}").status_code == 200
    assert readers.outsider.post(f"/api/v1/queries/{query_id}/run", json={"wait": 30}).status_code == 404
    assert readers.outsider.get(f"/api/v1/results/{result_id}").status_code == 404
    assert readers.org.editor.patch(f"/api/v1/queries/{query_id}", json={"name": "mine"}).status_code == 200


def test_a_shared_visualization_reaches_group_members_only(readers: Readers) -> None:
    org = readers.org
    chart_id = chart(org)
    path, listing = (
        f"/api/v1/visualizations/{chart_id}",
        f"/api/v1/queries/{chart_query(org, chart_id)}/visualizations",
    )
    readers.share("visualization", chart_id)
    assert readers.member.get(path).status_code == 200
    assert chart_id in listed(readers.member, listing)
    assert readers.outsider.get(path).status_code == 404
    assert chart_id not in listed(readers.outsider, listing)
    assert readers.member.patch(path, json={"name": "renamed"}).status_code == 403
    assert org.editor.patch(path, json={"name": "renamed"}).status_code == 200
