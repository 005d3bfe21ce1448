"""The parties of the authorisation matrix (issue 7), made through the native API for every surface.

In organization A: its admin (the author of the objects under test), a viewer V and an editor E
an object is shared with (READ_ONLY and MODIFY), and an editor U it is not shared with; X is the
admin of another organization B. Every party has an API key and a password (ThoughtSpot logs in
with one), so each dialect's module builds its own vendor clients from them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from openlytics.testing import LiveServer
from tests.conftest import Org

PASSWORD = "correct horse battery"


@dataclass
class Party:
    """One caller: its user id, e-mail, API key and a native client with that key."""

    user_id: int
    email: str
    key: str
    native: httpx.Client


@dataclass
class Matrix:
    """Organization A's parties and the outsider X of organization B."""

    org: Org
    admin: Party
    viewer: Party  # V: an object is shared with V READ_ONLY
    editor: Party  # E: an object is shared with E MODIFY
    unrelated: Party  # U: an editor of A the object is not shared with
    outsider: Party  # X: the admin of organization B
    outsider_org: Org

    def share(self, kind: str, object_id: int) -> None:
        """A's admin shares the object READ_ONLY with V and MODIFY with E (restricting it)."""
        grants = [
            {"principal": "user", "id": self.viewer.user_id, "mode": "READ_ONLY"},
            {"principal": "user", "id": self.editor.user_id, "mode": "MODIFY"},
        ]
        shared = self.org.admin.put(f"/api/v1/shares/{kind}/{object_id}", json={"grants": grants})
        assert shared.status_code == 200, shared.text

    def query_key(self, query_id: int) -> str:
        """A new API key that reaches only the query `query_id` (K)."""
        created = self.org.admin.post(f"/api/v1/queries/{query_id}/api-keys", json={"name": "K"})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])

    def parties(self) -> dict[str, Party]:
        return {"V": self.viewer, "E": self.editor, "U": self.unrelated, "X": self.outsider}


def native_client(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def with_password(org_admin: httpx.Client, user_id: int, key: str, server: LiveServer) -> Party:
    """The existing user `user_id` of the admin's organization, given PASSWORD."""
    changed = org_admin.patch(f"/api/v1/users/{user_id}", json={"password": PASSWORD})
    assert changed.status_code == 200, changed.text
    return Party(user_id, changed.json()["email"], key, native_client(server, key))


def new_user(server: LiveServer, org_admin: httpx.Client, role: str) -> Party:
    """A new user of the admin's organization with `role`, PASSWORD and an API key."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@matrix.test"
    created = org_admin.post(
        "/api/v1/users", json={"email": email, "name": role, "role": role, "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    key = org_admin.post("/api/v1/api-keys", json={"name": role, "user_id": created.json()["id"]})
    assert key.status_code == 201, key.text
    return Party(created.json()["id"], email, key.json()["key"], native_client(server, key.json()["key"]))


def new_organization(server: LiveServer, superadmin: httpx.Client) -> Org:
    """A second organization; only its admin is used."""
    slug = f"orgb-{uuid.uuid4().hex[:10]}"
    created = superadmin.post(
        "/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    client = native_client(server, body["api_key"])
    return Org(
        body["organization"]["id"],
        client,
        client,
        client,
        body["admin"]["id"],
        0,
        0,
        {"admin": body["api_key"]},
    )


def build_matrix(server: LiveServer, org: Org, superadmin: httpx.Client) -> Iterator[Matrix]:
    """The matrix parties for `org` (a fixture body: yields, then closes the clients)."""
    other = new_organization(server, superadmin)
    matrix = Matrix(
        org=org,
        admin=with_password(org.admin, org.admin_user_id, org.keys["admin"], server),
        viewer=with_password(org.admin, org.viewer_user_id, org.keys["viewer"], server),
        editor=with_password(org.admin, org.editor_user_id, org.keys["editor"], server),
        unrelated=new_user(server, org.admin, "editor"),
        outsider=with_password(other.admin, other.admin_user_id, other.keys["admin"], server),
        outsider_org=other,
    )
    yield matrix
    for party in (matrix.admin, *matrix.parties().values()):
        party.native.close()
    other.close()
