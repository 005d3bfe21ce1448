"""UserTokenService: tokens by password or trusted key, single-use login tokens, keys, purge."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from openlytics.core.principal import Principal, Role
from openlytics.core.user_tokens import USER_TOKEN_RE, TokenKind
from openlytics.store.types import utcnow
from openlytics.testing import LiveServer

PASSWORD = "correct horse battery"


@dataclass
class People:
    org_id: int
    admin: Principal
    viewer: Principal
    viewer_email: str


@pytest.fixture
def core(server: LiveServer) -> Openlytics:
    return server.core


def make_org(core: Openlytics) -> People:
    superadmin = Principal(org_id=1, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True)
    slug = f"tokens-{uuid.uuid4().hex[:10]}"
    created = core.identity.create_organization(
        superadmin, name=slug, admin_email=f"admin@{slug}.test", admin_password=PASSWORD
    )
    org_id = created.organization.id
    admin = Principal(org_id=org_id, user_id=created.admin.id, role=Role.ADMIN, credential="user_key")
    viewer = core.identity.create_user(
        admin, email=f"Viewer@{slug}.test", name="viewer", role="viewer", password=PASSWORD
    )
    as_viewer = Principal(org_id=org_id, user_id=viewer.id, role=Role.VIEWER, credential="user_key")
    return People(org_id, admin, as_viewer, viewer.email)


def test_password_tokens_act_as_the_user_until_they_expire_then_are_purged(core: Openlytics) -> None:
    org = make_org(core)
    issued = core.user_tokens.issue_with_password(org.viewer_email.upper(), PASSWORD, validity_seconds=60)
    assert USER_TOKEN_RE.match(issued.token) and issued.expires_at - issued.created_at == timedelta(
        seconds=60
    )
    principal = core.authenticate_bearer(issued.token)
    assert (principal.user_id, principal.credential) == (org.viewer.user_id, "user_token")

    assert core.user_tokens.purge_expired(utcnow() + timedelta(minutes=2)) >= 1
    with pytest.raises(AuthenticationError, match="invalid token"):
        core.user_tokens.authenticate(issued.token)


def test_wrong_passwords_validity_and_disabled_users_are_refused(core: Openlytics) -> None:
    org = make_org(core)
    with pytest.raises(AuthenticationError):
        core.user_tokens.issue_with_password(org.viewer_email, "wrong password")
    with pytest.raises(AuthenticationError):
        core.user_tokens.issue_with_password(org.viewer_email, PASSWORD, org_id=org.org_id + 10_000)
    for validity in (0, 86_401, True, "60"):
        with pytest.raises(InvalidInputError, match="validity_seconds"):
            core.user_tokens.issue_with_password(org.viewer_email, PASSWORD, validity_seconds=validity)  # type: ignore[arg-type]
    token = core.user_tokens.issue_with_password(org.viewer_email, PASSWORD).token
    assert org.viewer.user_id is not None
    core.identity.update_user(org.admin, org.viewer.user_id, is_disabled=True)
    with pytest.raises(AuthenticationError, match="disabled"):
        core.user_tokens.authenticate(token)
    with pytest.raises(AuthenticationError):
        core.user_tokens.issue_with_password(org.viewer_email, PASSWORD)


def test_trusted_keys_belong_to_admins_of_one_organization(core: Openlytics) -> None:
    org, other = make_org(core), make_org(core)
    with pytest.raises(PermissionDeniedError):
        core.user_tokens.rotate_trusted_key(org.viewer)
    assert core.user_tokens.reveal_trusted_key(org.admin) is None
    created = core.user_tokens.create_trusted_key(org.admin)
    with pytest.raises(ConflictError):
        core.user_tokens.create_trusted_key(org.admin)
    issued = core.user_tokens.issue_with_key(created.key, org.viewer_email)
    assert issued.user.id == org.viewer.user_id
    with pytest.raises(AuthenticationError):
        core.user_tokens.issue_with_key(created.key, org.viewer_email, org_id=other.org_id)
    assert core.user_tokens.reveal_trusted_key(other.admin) is None

    rotated = core.user_tokens.rotate_trusted_key(org.admin)
    assert rotated.key != created.key and rotated.created_at == created.created_at
    with pytest.raises(AuthenticationError, match="invalid trusted-authentication key"):
        core.user_tokens.issue_with_key(created.key, org.viewer_email)


def test_a_login_token_opens_one_session_even_when_used_concurrently(core: Openlytics) -> None:
    org = make_org(core)
    key = core.user_tokens.rotate_trusted_key(org.admin).key
    login = core.user_tokens.issue_with_key(key, org.viewer_email, kind=TokenKind.LOGIN)
    assert login.expires_at - login.created_at == timedelta(minutes=5)
    with pytest.raises(AuthenticationError, match="login token"):
        core.user_tokens.authenticate(login.token)  # not a bearer token

    def use() -> str:
        try:
            session, _user = core.user_tokens.consume_login_token(login.token, org.viewer_email)
        except AuthenticationError:
            return "refused"
        return session

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: use(), range(4)))
    sessions = [o for o in outcomes if o != "refused"]
    assert len(sessions) == 1, outcomes
    assert core.identity.authenticate_session(sessions[0]).user_id == org.viewer.user_id


def test_users_are_created_on_first_trusted_login_only_when_asked(core: Openlytics) -> None:
    org = make_org(core)
    key = core.user_tokens.rotate_trusted_key(org.admin).key
    email = f"new-{uuid.uuid4().hex[:6]}@example.test"
    with pytest.raises(Exception, match="not found"):
        core.user_tokens.issue_with_key(key, email)
    issued = core.user_tokens.issue_with_key(key, email, create_as="New Person")
    assert (issued.user.name, issued.user.role, issued.user.org_id) == ("New Person", "viewer", org.org_id)
    assert core.user_tokens.issue_with_key(key, email, create_as="Ignored").user.id == issued.user.id


def test_tokens_are_revoked_by_their_user_or_an_admin(core: Openlytics) -> None:
    org, other = make_org(core), make_org(core)
    token = core.user_tokens.issue_with_password(org.viewer_email, PASSWORD).token
    with pytest.raises(Exception, match="not found"):
        core.user_tokens.revoke(other.admin, token)
    core.user_tokens.revoke(org.admin, token)
    with pytest.raises(AuthenticationError):
        core.user_tokens.describe(token)
