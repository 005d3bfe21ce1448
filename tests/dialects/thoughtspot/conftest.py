"""The ThoughtSpot dialect through the real client (`thoughtspot_rest_api_v1`) on a live server.

Each role of a fresh organization gets a password (through the native API) so that it can log in
the ways ThoughtSpot users do: a V1 session, a V2 bearer token, or trusted authentication.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from thoughtspot_rest_api_v1 import TSRestApiV1, TSRestApiV2

from openlytics.testing import LiveServer
from tests.conftest import Org

PASSWORD = "correct horse battery"


@dataclass
class ThoughtSpot:
    """One organization seen through the dialect."""

    url: str  # the clients' server_url: http://HOST:PORT/thoughtspot
    org: Org
    emails: dict[str, str] = field(default_factory=dict)
    guids: dict[str, str] = field(default_factory=dict)

    def v1(self, role: str | None = "admin") -> TSRestApiV1:
        """A V1 client, logged in (a session cookie) as `role` unless None."""
        client = TSRestApiV1(server_url=self.url)
        if role is not None:
            client.session_login(username=self.emails[role], password=PASSWORD)
        return client

    def v2(self, role: str | None = "admin") -> TSRestApiV2:
        """A V2 client carrying a bearer token of `role` unless None."""
        client = TSRestApiV2(server_url=self.url)
        if role is not None:
            client.bearer_token = self.token(role)
        return client

    def token(self, role: str = "admin", validity: int = 300) -> str:
        """A full bearer token of `role` (password authentication)."""
        answer = TSRestApiV2(server_url=self.url).auth_token_full(
            username=self.emails[role], password=PASSWORD, validity_time_in_sec=validity
        )
        token: str = answer["token"]
        return token

    def trusted_key(self) -> str:
        """The organization's trusted-authentication key (made by rotating it natively)."""
        response = self.org.admin.post("/api/v1/trusted-auth")
        assert response.status_code == 200, response.text
        key: str = response.json()["secret_key"]
        return key


def give_passwords(native: httpx.Client, user_ids: dict[str, int]) -> tuple[dict[str, str], dict[str, str]]:
    """Set PASSWORD for each user; their e-mails and GUIDs by role."""
    emails, guids = {}, {}
    for role, user_id in user_ids.items():
        changed = native.patch(f"/api/v1/users/{user_id}", json={"password": PASSWORD})
        assert changed.status_code == 200, changed.text
        emails[role], guids[role] = changed.json()["email"], changed.json()["uuid"]
    return emails, guids


@pytest.fixture
def ts(server: LiveServer, new_org: Org) -> Iterator[ThoughtSpot]:
    ids = {"admin": new_org.admin_user_id, "editor": new_org.editor_user_id, "viewer": new_org.viewer_user_id}
    emails, guids = give_passwords(new_org.admin, ids)
    yield ThoughtSpot(f"{server.url}/thoughtspot", new_org, emails, guids)


@dataclass
class OtherOrg:
    """A second organization with an admin who has a password."""

    email: str
    guid: str
    native: httpx.Client


@pytest.fixture
def other_org(server: LiveServer, admin: httpx.Client) -> Iterator[OtherOrg]:
    slug = f"other-{uuid.uuid4().hex[:10]}"
    created = admin.post("/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"})
    assert created.status_code == 201, created.text
    body = created.json()
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {body['api_key']}"}, timeout=60
    ) as native:
        emails, guids = give_passwords(native, {"admin": body["admin"]["id"]})
        yield OtherOrg(emails["admin"], guids["admin"], native)


def status_of(call: Any) -> int:
    """The HTTP status a client call failed with (it raises requests' HTTPError)."""
    import requests

    try:
        call()
    except requests.HTTPError as exc:
        assert exc.response is not None
        return exc.response.status_code
    raise AssertionError("the call succeeded")
