"""Identity: bootstrap, credentials, roles, sessions and organization isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from openlytics.settings import Settings
from openlytics.store.models import ApiKey, User
from openlytics.testing import LiveServer


def test_healthz_answers_ok_once_ready(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_me_describes_the_admin_and_their_organization(admin: httpx.Client) -> None:
    me = admin.get("/api/v1/me").json()
    assert me["user"]["role"] == "admin"
    assert me["user"]["is_superadmin"] is True
    assert me["credential"] == "user_key"
    assert me["organization"]["slug"] == "default"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer olk_not-a-key"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
    ],
)
def test_requests_without_a_valid_credential_get_401_json(
    server: LiveServer, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{server.url}/api/v1/queries", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.json()["error"]["message"]


def test_unknown_route_is_a_json_404(admin: httpx.Client) -> None:
    response = admin.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_only_superadmins_create_organizations(new_org) -> None:
    response = new_org.admin.post("/api/v1/organizations", json={"name": "x", "admin_email": "a@x.test"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_duplicate_organization_slug_is_a_conflict(admin: httpx.Client, new_org) -> None:
    slug = new_org.admin.get("/api/v1/organization").json()["slug"]
    response = admin.post(
        "/api/v1/organizations", json={"name": "again", "slug": slug, "admin_email": "b@x.test"}
    )
    assert response.status_code == 409


def test_nothing_crosses_organizations(admin: httpx.Client, new_org) -> None:
    query = admin.post("/api/v1/queries", json={"name": "secret", "sql": "SELECT 42 AS answer"}).json()
    run = admin.post("/api/v1/runs", json={"sql": "SELECT 1 AS one", "wait": 10}).json()
    assert new_org.admin.get(f"/api/v1/queries/{query['id']}").status_code == 404
    assert new_org.admin.post(f"/api/v1/queries/{query['id']}/run", json={}).status_code == 404
    assert new_org.admin.get(f"/api/v1/results/{run['result']['id']}").status_code == 404
    assert new_org.admin.get(f"/api/v1/jobs/{run['job']['id']}").status_code == 404
    names = [q["name"] for q in new_org.admin.get("/api/v1/queries").json()["items"]]
    assert "secret" not in names
    admin_user_ids = {u["id"] for u in admin.get("/api/v1/users").json()["items"]}
    assert new_org.admin_user_id not in admin_user_ids
    assert new_org.admin.get(f"/api/v1/users/{min(admin_user_ids)}").status_code == 404
    # Each organization has its own warehouse: a table made in one is invisible in the other.
    admin.post(
        "/api/v1/runs", json={"sql": "CREATE OR REPLACE TABLE only_default AS SELECT 1 AS x", "wait": 10}
    )
    other = new_org.admin.post("/api/v1/runs", json={"sql": "SELECT * FROM only_default", "wait": 10})
    assert other.status_code == 400
    assert "only_default" in other.json()["error"]["message"]


def test_roles_limit_what_users_may_do(new_org) -> None:
    assert new_org.viewer.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1"}).status_code == 403
    assert new_org.viewer.post("/api/v1/runs", json={"sql": "SELECT 1"}).status_code == 403
    created = new_org.editor.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1 AS x"})
    assert created.status_code == 201
    run = new_org.viewer.post(f"/api/v1/queries/{created.json()['id']}/run", json={"wait": 10})
    assert run.status_code == 200
    assert run.json()["result"]["rows"] == [{"x": 1}]
    assert (
        new_org.editor.post("/api/v1/data-sources", json={"name": "x", "url": "sqlite:///x.db"}).status_code
        == 403
    )
    assert new_org.editor.post("/api/v1/users", json={"email": "z@z.test", "name": "z"}).status_code == 403
    assert new_org.viewer.get("/api/v1/users").status_code == 200


def test_revoked_and_expired_keys_stop_working(server: LiveServer, new_org) -> None:
    issued = new_org.admin.post("/api/v1/api-keys", json={"name": "temp"}).json()
    assert issued["key"].startswith("olk_")
    headers = {"Authorization": f"Bearer {issued['key']}"}
    assert httpx.get(f"{server.url}/api/v1/me", headers=headers).status_code == 200
    listed = new_org.admin.get("/api/v1/api-keys").json()["items"]
    assert all("key" not in k for k in listed)
    assert new_org.admin.delete(f"/api/v1/api-keys/{issued['id']}").status_code == 204
    assert httpx.get(f"{server.url}/api/v1/me", headers=headers).status_code == 401

    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expiring = new_org.admin.post("/api/v1/api-keys", json={"name": "exp", "expires_at": soon}).json()
    with server.core.db.session() as s:  # let an hour pass for this key
        s.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == expiring["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {expiring['key']}"})
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_disabled_users_lose_access(server: LiveServer, new_org) -> None:
    assert new_org.viewer.get("/api/v1/me").status_code == 200
    disabled = new_org.admin.patch(f"/api/v1/users/{new_org.viewer_user_id}", json={"is_disabled": True})
    assert disabled.status_code == 200
    assert new_org.viewer.get("/api/v1/me").status_code == 401
    assert (
        new_org.admin.patch(
            f"/api/v1/users/{new_org.viewer_user_id}", json={"is_disabled": False}
        ).status_code
        == 200
    )
    assert new_org.viewer.get("/api/v1/me").status_code == 200


def test_session_login_sets_a_cookie_that_authenticates(server: LiveServer, new_org) -> None:
    new_org.admin.patch(f"/api/v1/users/{new_org.editor_user_id}", json={"password": "correct horse"})
    email = new_org.editor.get("/api/v1/me").json()["user"]["email"]
    with httpx.Client(base_url=server.url) as browser:
        wrong = browser.post("/api/v1/session", json={"email": email, "password": "wrong password"})
        assert wrong.status_code == 401
        ok = browser.post("/api/v1/session", json={"email": email, "password": "correct horse"})
        assert ok.status_code == 200
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert browser.get("/api/v1/me").json()["credential"] == "session"
        # A write with only the cookie and no same-origin evidence is refused (CSRF).
        assert browser.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1"}).status_code == 403
        same_origin = browser.post(
            "/api/v1/queries", json={"name": "q", "sql": "SELECT 1"}, headers={"Origin": server.url}
        )
        assert same_origin.status_code == 201
        assert browser.delete("/api/v1/session").status_code == 204
        browser.cookies.clear()
        assert browser.get("/api/v1/me").status_code == 401


def test_passwords_and_keys_are_not_stored_in_clear(server: LiveServer, new_org) -> None:
    new_org.admin.patch(f"/api/v1/users/{new_org.viewer_user_id}", json={"password": "s3cret-passw0rd"})
    with server.core.db.session() as s:
        user = s.get(User, new_org.viewer_user_id)
        assert user is not None and user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        stored = [
            tuple(row) for row in s.execute(sa.select(ApiKey.key_hash, ApiKey.key_encrypted, ApiKey.prefix))
        ]
    flat = " ".join(" ".join(map(str, row)) for row in stored)
    for key in new_org.keys.values():
        assert key not in flat


def test_bootstrap_is_idempotent_and_keeps_the_configured_key(tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_email="boss@example.test",
        admin_password=SecretStr("a long password"),
        admin_api_key=SecretStr("olk_fixed-bootstrap-key"),
        scheduler_enabled=False,
    )
    for attempt in range(2):
        with LiveServer(settings) as live:
            assert live.admin_key == "olk_fixed-bootstrap-key"
            headers = {"Authorization": "Bearer olk_fixed-bootstrap-key"}
            me = httpx.get(f"{live.url}/api/v1/me", headers=headers).json()
            assert me["user"]["email"] == "boss@example.test"
            users = httpx.get(f"{live.url}/api/v1/users", headers=headers).json()
            assert users["total"] == 1
            assert (live.core.bootstrapped is not None) == (attempt == 0)
            login = httpx.post(
                f"{live.url}/api/v1/session",
                json={"email": "boss@example.test", "password": "a long password"},
            )
            assert login.status_code == 200


def test_without_a_configured_key_one_is_generated_and_shown_once(tmp_path) -> None:
    from openlytics.app import Openlytics
    from openlytics.server import banner

    settings = Settings(data_dir=tmp_path / "data", scheduler_enabled=False)
    first = Openlytics(settings)
    first.start()
    assert first.bootstrapped is not None
    key = first.bootstrapped.api_key.key
    assert key in banner(first, "http://localhost:8000")
    assert first.identity.authenticate_api_key(key).is_superadmin
    first.stop()
    second = Openlytics(settings)
    second.start()
    assert second.bootstrapped is None
    assert key not in banner(second, "http://localhost:8000")
    assert second.identity.authenticate_api_key(key).is_superadmin
    second.stop()
