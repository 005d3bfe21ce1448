"""`/api/v1/trusted-auth`: admins show and rotate the organization's trusted-authentication key."""

from __future__ import annotations

import httpx

from openlytics.testing import LiveServer
from tests.conftest import Org


def test_trusted_auth_is_off_until_rotated_then_shows_the_key(new_org: Org) -> None:
    shown = new_org.admin.get("/api/v1/trusted-auth")
    assert shown.status_code == 200
    assert shown.json() == {"enabled": False, "secret_key": None, "created_at": None, "rotated_at": None}

    first = new_org.admin.post("/api/v1/trusted-auth")
    assert first.status_code == 200, first.text
    key = first.json()["secret_key"]
    assert first.json()["enabled"] is True and key.startswith("olta_")
    assert new_org.admin.get("/api/v1/trusted-auth").json()["secret_key"] == key

    second = new_org.admin.post("/api/v1/trusted-auth").json()
    assert second["secret_key"] != key and second["created_at"] == first.json()["created_at"]
    assert new_org.admin.get("/api/v1/trusted-auth").json()["secret_key"] == second["secret_key"]


def test_only_admins_see_or_rotate_the_key(new_org: Org) -> None:
    for client in (new_org.editor, new_org.viewer):
        assert client.get("/api/v1/trusted-auth").status_code == 403
        assert client.post("/api/v1/trusted-auth").status_code == 403
    assert httpx.get(f"{new_org.admin.base_url}/api/v1/trusted-auth").status_code == 401


def test_each_organization_has_its_own_key(server: LiveServer, new_org: Org, admin: httpx.Client) -> None:
    ours = new_org.admin.post("/api/v1/trusted-auth").json()["secret_key"]
    theirs = admin.post("/api/v1/trusted-auth").json()["secret_key"]
    assert ours != theirs
    assert new_org.admin.get("/api/v1/trusted-auth").json()["secret_key"] == ours


def test_disabling_trusted_auth_makes_the_key_useless(server: LiveServer, new_org: Org) -> None:
    key = new_org.admin.post("/api/v1/trusted-auth").json()["secret_key"]
    email = new_org.admin.get(f"/api/v1/users/{new_org.viewer_user_id}").json()["email"]
    issue = {"username": email, "secret_key": key}
    token_url = f"{server.url}/thoughtspot/api/rest/2.0/auth/token/full"
    assert httpx.post(token_url, json=issue, timeout=60).status_code == 200
    assert new_org.editor.delete("/api/v1/trusted-auth").status_code == 403
    disabled = new_org.admin.delete("/api/v1/trusted-auth")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert new_org.admin.get("/api/v1/trusted-auth").json()["enabled"] is False
    assert httpx.post(token_url, json=issue, timeout=60).status_code == 401
    assert new_org.admin.delete("/api/v1/trusted-auth").status_code == 200  # already off: still fine
