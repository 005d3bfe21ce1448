"""OAuth 2.0 client credentials: clients issued to users, short-lived access tokens, and the
Basic scheme some vendor clients send (a client id followed by base64 of e-mail and password).

Only hashes of client secrets and access tokens are stored; the plaintext is shown once.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select

from openlytics.core.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.identity import LAST_USED_RESOLUTION, _principal_of, user_by_password
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import constant_time_equals, token_hash
from openlytics.store.db import Database
from openlytics.store.models import AccessToken, OAuthClient, User
from openlytics.store.types import utcnow

ACCESS_TOKEN_PREFIX = "olat_"  # noqa: S105 - a prefix, not a secret
CLIENT_ID_PREFIX = "olc_"
CLIENT_SECRET_PREFIX = "ols_"  # noqa: S105 - a prefix, not a secret
# The Basic scheme concatenates the client id with more base64 and no separator: the id's fixed
# length is what tells them apart.
CLIENT_ID_LENGTH = len(CLIENT_ID_PREFIX) + 32
CLIENT_ID_RE = re.compile(r"^olc_[0-9a-f]{32}$")
NAME_MAX_LENGTH = 255
# Compared against when the client id is unknown, so timing does not reveal which ids exist.
_DUMMY_SECRET_HASH = token_hash("openlytics-unknown-oauth-client")


@dataclass(frozen=True)
class IssuedClient:
    """An OAuth client as created: the plaintext `client_secret` is only available here, once."""

    record: OAuthClient
    client_secret: str


@dataclass(frozen=True)
class IssuedToken:
    """An access token from the token endpoint, valid for `expires_in` seconds."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the RFC 6749 token type


def is_access_token(value: str) -> bool:
    """Whether a bearer credential is an OAuth access token (rather than an API key)."""
    return value.startswith(ACCESS_TOKEN_PREFIX)


def new_client_id() -> str:
    """A fresh client id: the prefix and 32 lowercase hex characters."""
    return CLIENT_ID_PREFIX + pysecrets.token_hex(16)


def new_client_secret() -> str:
    """A fresh client secret (about 256 bits of entropy)."""
    return CLIENT_SECRET_PREFIX + pysecrets.token_urlsafe(32)


class OAuthService:
    """OAuth clients of users, the access tokens they obtain, and authentication with either."""

    def __init__(self, db: Database, *, token_ttl: timedelta) -> None:
        self.db = db
        self.token_ttl = token_ttl

    # ----- clients -----------------------------------------------------------------------
    def create_client(
        self, principal: Principal, *, name: str = "", user_id: int | None = None
    ) -> IssuedClient:
        """A new client for the caller or (admins) another enabled user of the organization."""
        _require_person(principal, "create")
        owner = user_id if user_id is not None else principal.user_id
        if owner is None:
            raise InvalidInputError("user_id", "required when the caller is not a user")
        if owner != principal.user_id:
            principal.require(Action.MANAGE_USERS, f"oauth clients of user {owner}")
        name = name.strip()
        if len(name) > NAME_MAX_LENGTH:
            raise InvalidInputError("name", f"at most {NAME_MAX_LENGTH} characters")
        with self.db.session() as s:
            user = s.get(User, owner)
            if user is None or user.org_id != principal.org_id:
                raise NotFoundError("user", owner)
            if user.disabled_at is not None:
                raise InvalidInputError("user_id", "the user is disabled")
            secret = new_client_secret()
            record = OAuthClient(
                org_id=principal.org_id,
                user_id=owner,
                name=name,
                client_id=new_client_id(),
                secret_hash=token_hash(secret),
            )
            s.add(record)
            s.flush()
            return IssuedClient(record, secret)

    def list_clients(self, principal: Principal) -> list[OAuthClient]:
        """The caller's active clients; admins see every active client of the organization."""
        _require_person(principal, "read")
        stmt = select(OAuthClient).where(
            OAuthClient.org_id == principal.org_id, OAuthClient.revoked_at.is_(None)
        )
        if not principal.can(Action.MANAGE_USERS):
            stmt = stmt.where(OAuthClient.user_id == principal.user_id)
        with self.db.session() as s:
            return list(s.scalars(stmt.order_by(OAuthClient.id)))

    def revoke_client(self, principal: Principal, client_pk: int) -> None:
        """Revoke a client (its owner or an admin) and end its access tokens."""
        _require_person(principal, "revoke")
        with self.db.session() as s:
            record = s.get(OAuthClient, client_pk)
            if record is None or record.org_id != principal.org_id or record.revoked_at is not None:
                raise NotFoundError("oauth client", client_pk)
            if record.user_id != principal.user_id:
                principal.require(Action.MANAGE_USERS, f"oauth client {client_pk}")
            record.revoked_at = utcnow()
            s.execute(delete(AccessToken).where(AccessToken.client_id == record.id))

    # ----- tokens ------------------------------------------------------------------------
    def issue_token(self, client_id: str, client_secret: str) -> IssuedToken:
        """An access token for a client's owner, given the client's id and secret."""
        now = utcnow()
        with self.db.session() as s:
            row = s.execute(
                select(OAuthClient, User)
                .join(User, User.id == OAuthClient.user_id)
                .where(OAuthClient.client_id == client_id)
            ).first()
            stored = row[0].secret_hash if row is not None else _DUMMY_SECRET_HASH
            secret_ok = constant_time_equals(stored, token_hash(client_secret))
            if row is None or not secret_ok or row[0].revoked_at is not None:
                raise AuthenticationError("invalid client id or secret")
            client, user = row
            if user.disabled_at is not None:
                raise AuthenticationError("the client's user is disabled")
            token = ACCESS_TOKEN_PREFIX + pysecrets.token_urlsafe(32)
            s.add(
                AccessToken(
                    org_id=client.org_id,
                    user_id=user.id,
                    client_id=client.id,
                    token_hash=token_hash(token),
                    expires_at=now + self.token_ttl,
                )
            )
            client.last_used_at = now
        return IssuedToken(access_token=token, expires_in=int(self.token_ttl.total_seconds()))

    def authenticate_token(self, token: str) -> Principal:
        """The principal of an access token; AuthenticationError when unknown or expired."""
        with self.db.session() as s:
            row = s.execute(
                select(AccessToken, User)
                .join(User, User.id == AccessToken.user_id)
                .where(AccessToken.token_hash == token_hash(token))
            ).first()
            if row is None:
                raise AuthenticationError("invalid access token")
            record, user = row
            if record.expires_at <= utcnow():
                raise AuthenticationError("access token expired")
            if user.disabled_at is not None:
                raise AuthenticationError("the token's user is disabled")
            return _principal_of(user, "oauth_token", session=s)

    def purge_expired_tokens(self, now: datetime | None = None) -> int:
        """Delete access tokens that expired before `now`; how many went."""
        with self.db.session() as s:
            done = s.execute(delete(AccessToken).where(AccessToken.expires_at <= (now or utcnow())))
            return cast(CursorResult[Any], done).rowcount

    # ----- the Basic scheme --------------------------------------------------------------
    def authenticate_basic(self, token: str) -> Principal:
        """The principal of base64(client id + base64("email:password")) for a user of the client's org."""
        client_id, email, password = _parse_basic(token)
        with self.db.session() as s:
            client = s.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
            if client is None or client.revoked_at is not None:
                raise AuthenticationError("unknown or revoked OAuth client")
            user = user_by_password(s, email, password, org_id=client.org_id)
            now = utcnow()
            if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
                client.last_used_at = now
            return _principal_of(user, "oauth_basic", session=s)


def _require_person(principal: Principal, action: str) -> None:
    # Query keys, push tokens and public links act for no person: they cannot hold clients.
    if principal.is_query_key or principal.dataset_scope is not None or principal.credential == "public_link":
        raise PermissionDeniedError(action, "oauth clients")
    if principal.user_id is None and not principal.can(Action.MANAGE_USERS):
        raise PermissionDeniedError(action, "oauth clients")


def _parse_basic(token: str) -> tuple[str, str, str]:
    """(client id, email, password) from the Basic scheme's token; AuthenticationError if malformed."""
    outer = _b64decode(token.strip(), "the credential is not valid base64")
    if len(outer) <= CLIENT_ID_LENGTH:
        raise AuthenticationError("the credential is too short for a client id and base64(email:password)")
    try:
        client_id = outer[:CLIENT_ID_LENGTH].decode("ascii")
    except UnicodeDecodeError:
        raise AuthenticationError("the credential does not start with an OAuth client id") from None
    if not CLIENT_ID_RE.match(client_id):
        raise AuthenticationError("the credential does not start with an OAuth client id")
    inner = _b64decode(outer[CLIENT_ID_LENGTH:], "the part after the client id is not valid base64")
    try:
        pair = inner.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationError("email:password is not valid UTF-8") from None
    email, colon, password = pair.partition(":")
    if not colon or not email or not password:
        raise AuthenticationError("the part after the client id must be base64 of email:password")
    return client_id, email, password


def _b64decode(text: str | bytes, message: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationError(message) from None
