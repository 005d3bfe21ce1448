"""OAuthService: clients, access tokens, the Basic scheme, permissions and organization isolation."""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.oauth import ACCESS_TOKEN_PREFIX, OAuthService, is_access_token
from openlytics.core.principal import Principal, Role
from openlytics.store.models import AccessToken, OAuthClient
from openlytics.store.types import utcnow
from openlytics.testing import LiveServer

PASSWORD = "correct horse battery"


@dataclass
class People:
    """An organization's admin and viewer principals (both users have PASSWORD)."""

    org_id: int
    admin: Principal
    viewer: Principal
    admin_email: str
    viewer_email: str


@pytest.fixture
def core(server: LiveServer) -> Openlytics:
    return server.core


def make_org(core: Openlytics) -> People:
    superadmin = Principal(org_id=1, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True)
    slug = f"oauth-{uuid.uuid4().hex[:10]}"
    created = core.identity.create_organization(
        superadmin, name=slug, admin_email=f"admin@{slug}.test", admin_password=PASSWORD
    )
    org_id = created.organization.id
    admin = Principal(org_id=org_id, user_id=created.admin.id, role=Role.ADMIN, credential="user_key")
    viewer_user = core.identity.create_user(
        admin, email=f"viewer@{slug}.test", name="viewer", role="viewer", password=PASSWORD
    )
    viewer = Principal(org_id=org_id, user_id=viewer_user.id, role=Role.VIEWER, credential="user_key")
    return People(org_id, admin, viewer, created.admin.email, viewer_user.email)


def basic_token(client_id: str, email: str, password: str) -> str:
    """Exactly what the ClicData client sends after `Basic `."""
    return base64.b64encode(client_id.encode() + base64.b64encode(f"{email}:{password}".encode())).decode()


def test_a_client_obtains_tokens_that_authenticate_as_its_user(core: Openlytics) -> None:
    org = make_org(core)
    issued = core.oauth.create_client(org.viewer, name="etl")
    assert re.fullmatch(r"olc_[0-9a-f]{32}", issued.record.client_id)
    assert issued.client_secret.startswith("ols_") and issued.record.user_id == org.viewer.user_id

    token = core.oauth.issue_token(issued.record.client_id, issued.client_secret)
    assert is_access_token(token.access_token) and token.access_token.startswith(ACCESS_TOKEN_PREFIX)
    assert token.token_type == "bearer" and token.expires_in == core.settings.oauth_token_ttl_seconds

    principal = core.oauth.authenticate_token(token.access_token)
    assert (principal.org_id, principal.user_id, principal.role) == (
        org.org_id,
        org.viewer.user_id,
        Role.VIEWER,
    )
    assert principal.credential == "oauth_token"
    assert core.authenticate_bearer(token.access_token) == principal

    with core.db.session() as s:
        stored = s.get(OAuthClient, issued.record.id)
        tokens = list(s.scalars(sa.select(AccessToken).where(AccessToken.client_id == issued.record.id)))
    assert stored is not None and stored.last_used_at is not None
    assert issued.client_secret not in stored.secret_hash
    assert [t.token_hash for t in tokens] != [token.access_token] and len(tokens) == 1


def test_wrong_secret_unknown_and_revoked_clients_get_no_token(core: Openlytics) -> None:
    org = make_org(core)
    issued = core.oauth.create_client(org.admin)
    client_id = issued.record.client_id
    with pytest.raises(AuthenticationError):
        core.oauth.issue_token(client_id, issued.client_secret + "x")
    with pytest.raises(AuthenticationError):
        core.oauth.issue_token("olc_" + "0" * 32, issued.client_secret)
    token = core.oauth.issue_token(client_id, issued.client_secret).access_token

    core.oauth.revoke_client(org.admin, issued.record.id)
    with pytest.raises(AuthenticationError, match="invalid access token"):
        core.oauth.authenticate_token(token)
    with pytest.raises(AuthenticationError):
        core.oauth.issue_token(client_id, issued.client_secret)
    assert issued.record.id not in [c.id for c in core.oauth.list_clients(org.admin)]


def test_a_disabled_users_client_gets_no_token_and_its_tokens_stop_working(core: Openlytics) -> None:
    org = make_org(core)
    issued = core.oauth.create_client(org.viewer)
    token = core.oauth.issue_token(issued.record.client_id, issued.client_secret).access_token
    assert org.viewer.user_id is not None
    core.identity.update_user(org.admin, org.viewer.user_id, is_disabled=True)
    with pytest.raises(AuthenticationError, match="disabled"):
        core.oauth.authenticate_token(token)
    with pytest.raises(AuthenticationError, match="disabled"):
        core.oauth.issue_token(issued.record.client_id, issued.client_secret)
    with pytest.raises(InvalidInputError):
        core.oauth.create_client(org.admin, user_id=org.viewer.user_id)


def test_expired_tokens_are_refused_then_purged(core: Openlytics) -> None:
    org = make_org(core)
    instant = OAuthService(core.db, token_ttl=timedelta(0))
    issued = instant.create_client(org.admin)
    expired = instant.issue_token(issued.record.client_id, issued.client_secret)
    assert expired.expires_in == 0
    with pytest.raises(AuthenticationError, match="access token expired"):
        core.oauth.authenticate_token(expired.access_token)
    fresh = core.oauth.issue_token(issued.record.client_id, issued.client_secret).access_token

    assert core.oauth.purge_expired_tokens() >= 1
    with pytest.raises(AuthenticationError, match="invalid access token"):
        core.oauth.authenticate_token(expired.access_token)
    assert core.oauth.authenticate_token(fresh).user_id == org.admin.user_id
    # Purging "an hour from now" removes the fresh one too.
    assert core.oauth.purge_expired_tokens(utcnow() + timedelta(hours=2)) >= 1
    with pytest.raises(AuthenticationError, match="invalid access token"):
        core.oauth.authenticate_token(fresh)


def test_only_admins_create_clients_for_other_users_of_their_organization(core: Openlytics) -> None:
    org, other = make_org(core), make_org(core)
    with pytest.raises(PermissionDeniedError):
        core.oauth.create_client(org.viewer, user_id=org.admin.user_id)
    for_viewer = core.oauth.create_client(org.admin, name="for viewer", user_id=org.viewer.user_id)
    assert for_viewer.record.user_id == org.viewer.user_id
    with pytest.raises(NotFoundError):
        core.oauth.create_client(org.admin, user_id=other.admin.user_id)
    with pytest.raises(InvalidInputError):
        core.oauth.create_client(org.admin, name="x" * 256)

    not_people = [
        Principal(org.org_id, None, Role.VIEWER, "query_key", query_scope=1),
        Principal.dataset_pusher(org.org_id, 1),
        Principal.public(org.org_id),
    ]
    for principal in not_people:
        with pytest.raises(PermissionDeniedError):
            core.oauth.create_client(principal, user_id=org.admin.user_id)
        with pytest.raises(PermissionDeniedError):
            core.oauth.list_clients(principal)


def test_people_see_and_revoke_their_own_clients_admins_the_organizations(core: Openlytics) -> None:
    org, other = make_org(core), make_org(core)
    mine = core.oauth.create_client(org.viewer, name="mine").record
    admins = core.oauth.create_client(org.admin, name="admin's").record
    foreign = core.oauth.create_client(other.admin).record

    assert [c.id for c in core.oauth.list_clients(org.viewer)] == [mine.id]
    assert {c.id for c in core.oauth.list_clients(org.admin)} == {mine.id, admins.id}
    with pytest.raises(PermissionDeniedError):
        core.oauth.revoke_client(org.viewer, admins.id)
    with pytest.raises(NotFoundError):
        core.oauth.revoke_client(org.admin, foreign.id)
    core.oauth.revoke_client(org.admin, mine.id)
    with pytest.raises(NotFoundError):
        core.oauth.revoke_client(org.viewer, mine.id)
    assert core.oauth.list_clients(org.viewer) == []


def test_basic_scheme_accepts_any_enabled_user_of_the_clients_organization(core: Openlytics) -> None:
    org, other = make_org(core), make_org(core)
    client_id = core.oauth.create_client(org.admin).record.client_id

    as_viewer = core.oauth.authenticate_basic(basic_token(client_id, org.viewer_email, PASSWORD))
    assert (as_viewer.org_id, as_viewer.user_id, as_viewer.role) == (
        org.org_id,
        org.viewer.user_id,
        Role.VIEWER,
    )
    as_admin = core.oauth.authenticate_basic(basic_token(client_id, org.admin_email.upper(), PASSWORD))
    assert as_admin.user_id == org.admin.user_id

    # The same e-mail exists in another organization, with another password: only the client's org counts.
    core.identity.create_user(
        other.admin, email=org.viewer_email, name="twin", role="admin", password="twin-pass1"
    )
    refused = {
        "wrong password": (
            basic_token(client_id, org.viewer_email, PASSWORD + "!"),
            "wrong email or password",
        ),
        "another org's password": (basic_token(client_id, org.viewer_email, "twin-pass1"), "wrong email"),
        "another org's user": (
            basic_token(client_id, other.viewer_email, PASSWORD),
            "wrong email or password",
        ),
        "unknown client": (basic_token("olc_" + "f" * 32, org.viewer_email, PASSWORD), "unknown or revoked"),
    }
    for case, (token, message) in refused.items():
        with pytest.raises(AuthenticationError, match=message):
            core.oauth.authenticate_basic(token)
            pytest.fail(f"accepted: {case}")

    assert org.viewer.user_id is not None
    core.identity.update_user(org.admin, org.viewer.user_id, is_disabled=True)
    with pytest.raises(AuthenticationError, match="wrong email or password"):
        core.oauth.authenticate_basic(basic_token(client_id, org.viewer_email, PASSWORD))
    core.oauth.revoke_client(org.admin, core.oauth.list_clients(org.admin)[0].id)
    with pytest.raises(AuthenticationError, match="revoked"):
        core.oauth.authenticate_basic(basic_token(client_id, org.admin_email, PASSWORD))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"olc_short").decode(), "too short"),
        (base64.b64encode(b"xyz_" + b"0" * 32 + base64.b64encode(b"a@b.c:pw")).decode(), "client id"),
        (base64.b64encode(b"olc_" + b"0" * 32 + b"%%%not-base64").decode(), "not valid base64"),
        (base64.b64encode(b"olc_" + b"0" * 32 + base64.b64encode(b"no-colon")).decode(), "email:password"),
        (base64.b64encode(b"olc_" + b"0" * 32 + base64.b64encode(b"\xff\xfe:pw")).decode(), "UTF-8"),
    ],
)
def test_basic_scheme_explains_malformed_credentials(core: Openlytics, token: str, message: str) -> None:
    with pytest.raises(AuthenticationError, match=message):
        core.oauth.authenticate_basic(token)


def test_bearer_values_without_the_token_prefix_are_api_keys(core: Openlytics, server: LiveServer) -> None:
    principal = core.authenticate_bearer(server.admin_key)
    assert principal.credential == "user_key"
    with pytest.raises(AuthenticationError, match="invalid access token"):
        core.authenticate_bearer(ACCESS_TOKEN_PREFIX + "nope")
