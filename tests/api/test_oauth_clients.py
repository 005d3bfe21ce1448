"""OAuth clients over HTTP: /api/v1/oauth-clients and the client-credentials token endpoint."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openlytics.core.errors import AuthenticationError
from openlytics.store.models import AccessToken
from openlytics.store.types import utcnow
from openlytics.testing import LiveServer
from tests.conftest import Org

TOKEN_URL = "/api/v1/oauth/token"


def create_client(caller: httpx.Client, **body: Any) -> dict[str, Any]:
    response = caller.post("/api/v1/oauth-clients", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def token_for(server: LiveServer, client_id: str, client_secret: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        **extra,
    }
    return httpx.post(server.url + TOKEN_URL, data=form)


def me_with(server: LiveServer, token: str) -> httpx.Response:
    return httpx.get(server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_client_credentials_give_a_bearer_token_for_the_native_api(server: LiveServer, new_org: Org) -> None:
    created = create_client(new_org.editor, name="nightly etl")
    assert set(created) >= {"id", "client_id", "client_secret", "name", "user_id", "created_at"}
    assert created["name"] == "nightly etl" and created["user_id"] == new_org.editor_user_id

    answer = token_for(server, created["client_id"], created["client_secret"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == server.settings.oauth_token_ttl_seconds
    assert answer.headers["cache-control"] == "no-store"

    me = me_with(server, body["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["credential"] == "oauth_token"
    assert me.json()["user"]["id"] == new_org.editor_user_id
    # The token carries the user's role: an editor may run SQL with it.
    run = httpx.post(
        server.url + "/api/v1/runs",
        json={"sql": "SELECT 1 AS one", "max_age": 0},
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=60,
    )
    assert run.status_code in (200, 201, 202), run.text


def test_clients_may_authenticate_with_http_basic(server: LiveServer, new_org: Org) -> None:
    created = create_client(new_org.viewer)
    answer = httpx.post(
        server.url + TOKEN_URL,
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    assert me_with(server, answer.json()["access_token"]).json()["user"]["id"] == new_org.viewer_user_id

    wrong = httpx.post(
        server.url + TOKEN_URL, data={"grant_type": "client_credentials"}, auth=(created["client_id"], "nope")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"] == "Basic"


def test_the_list_never_shows_secrets_and_viewers_see_only_their_own(new_org: Org) -> None:
    mine = create_client(new_org.viewer, name="mine")
    theirs = create_client(new_org.admin, name="theirs")
    listed = new_org.viewer.get("/api/v1/oauth-clients").json()
    assert [c["id"] for c in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert "client_secret" not in listed["items"][0]
    assert listed["items"][0]["client_id"] == mine["client_id"]
    everyone = new_org.admin.get("/api/v1/oauth-clients", params={"per_page": 1}).json()
    assert everyone["total"] == 2 and everyone["items"][0]["id"] == mine["id"]
    second = new_org.admin.get("/api/v1/oauth-clients", params={"per_page": 1, "page": 2}).json()
    assert [c["id"] for c in second["items"]] == [theirs["id"]]


def test_wrong_secret_and_unknown_client_are_invalid_client(server: LiveServer, new_org: Org) -> None:
    created = create_client(new_org.editor)
    for client_id, secret in [
        (created["client_id"], created["client_secret"] + "x"),
        ("olc_" + "0" * 32, created["client_secret"]),
    ]:
        answer = token_for(server, client_id, secret)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_client" and answer.json()["error_description"]
    missing = httpx.post(server.url + TOKEN_URL, data={"grant_type": "client_credentials"})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"


def test_malformed_token_requests_are_rfc_6749_errors(server: LiveServer, new_org: Org) -> None:
    created = create_client(new_org.editor)
    creds = (created["client_id"], created["client_secret"])
    unsupported = token_for(server, *creds, grant_type="password")
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    no_grant = httpx.post(server.url + TOKEN_URL, data={"client_id": creds[0], "client_secret": creds[1]})
    assert no_grant.status_code == 400 and no_grant.json()["error"] == "invalid_request"
    as_json = httpx.post(server.url + TOKEN_URL, json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    both_methods = httpx.post(
        server.url + TOKEN_URL, data={"grant_type": "client_credentials", "client_id": creds[0]}, auth=creds
    )
    assert both_methods.status_code == 400 and both_methods.json()["error"] == "invalid_request"


def test_revoking_a_client_ends_its_tokens(server: LiveServer, new_org: Org) -> None:
    created = create_client(new_org.editor)
    token = token_for(server, created["client_id"], created["client_secret"]).json()["access_token"]
    assert me_with(server, token).status_code == 200

    assert new_org.editor.delete(f"/api/v1/oauth-clients/{created['id']}").status_code == 204
    refused = me_with(server, token)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    again = token_for(server, created["client_id"], created["client_secret"])
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
    assert new_org.editor.get("/api/v1/oauth-clients").json()["items"] == []


def test_expired_tokens_get_401(server: LiveServer, new_org: Org) -> None:
    created = create_client(new_org.editor)
    token = token_for(server, created["client_id"], created["client_secret"]).json()["access_token"]
    with server.core.db.session() as s:
        s.execute(
            sa.update(AccessToken)
            .where(AccessToken.client_id == created["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    refused = me_with(server, token)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "access token expired"


def test_viewers_cannot_create_clients_for_others_and_orgs_are_isolated(
    server: LiveServer, admin: httpx.Client, new_org: Org
) -> None:
    denied = new_org.viewer.post("/api/v1/oauth-clients", json={"user_id": new_org.editor_user_id})
    assert denied.status_code == 403, denied.text
    for_viewer = create_client(new_org.admin, user_id=new_org.viewer_user_id)
    assert for_viewer["user_id"] == new_org.viewer_user_id
    assert (
        new_org.viewer.delete(f"/api/v1/oauth-clients/{create_client(new_org.admin)['id']}").status_code
        == 403
    )

    # The server's bootstrap admin belongs to another organization: 404, never a hint.
    assert admin.delete(f"/api/v1/oauth-clients/{for_viewer['id']}").status_code == 404
    assert admin.post("/api/v1/oauth-clients", json={"user_id": new_org.viewer_user_id}).status_code == 404
    assert for_viewer["id"] not in [c["id"] for c in admin.get("/api/v1/oauth-clients").json()["items"]]
    assert new_org.admin.delete(f"/api/v1/oauth-clients/{for_viewer['id']}").status_code == 204


def test_the_basic_scheme_of_vendor_clients_is_checked_against_the_clients_org(
    server: LiveServer, new_org: Org
) -> None:
    password = "viewer-password"
    new_org.admin.patch(f"/api/v1/users/{new_org.viewer_user_id}", json={"password": password})
    created = create_client(new_org.admin)
    email = new_org.viewer.get("/api/v1/me").json()["user"]["email"]

    def basic(user: str, pw: str) -> str:
        return base64.b64encode(
            created["client_id"].encode() + base64.b64encode(f"{user}:{pw}".encode())
        ).decode()

    principal = server.core.oauth.authenticate_basic(basic(email, password))
    assert (principal.org_id, principal.user_id) == (new_org.id, new_org.viewer_user_id)
    with pytest.raises(AuthenticationError, match="wrong email or password"):
        server.core.oauth.authenticate_basic(basic(email, password + "x"))
