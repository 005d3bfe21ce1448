"""Bearer tokens issued to users, trusted-authentication keys, and single-use login tokens.

A token is obtained with the user's password, or by a backend holding its organization's
trusted-authentication key (then without the password, by the user's e-mail). Kinds:
`full` acts as the user; `object` reads one object only (accepted where that object is served);
`login` is used once, within five minutes, to open a login session.

Tokens are `olut_` and 40 hex characters; only their SHA-256 is stored. The key is stored hashed
(for lookup) and encrypted with the server's SecretBox (admins may see it again).
"""

from __future__ import annotations

import re
import secrets as pysecrets
import uuid as uuid_module
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from openlytics.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from openlytics.core.identity import IdentityService, _principal_of, user_by_password
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox, token_hash
from openlytics.store.db import Database
from openlytics.store.models import (
    Dashboard,
    Dataset,
    DataSource,
    Query,
    TrustedAuthKey,
    User,
    UserToken,
    Visualization,
    Widget,
)
from openlytics.store.types import utcnow

USER_TOKEN_PREFIX = "olut_"  # noqa: S105 - a prefix, not a secret
TRUSTED_KEY_PREFIX = "olta_"
USER_TOKEN_RE = re.compile(r"^olut_[0-9a-f]{40}$")
MIN_VALIDITY_SECONDS = 1
MAX_VALIDITY_SECONDS = 86_400
LOGIN_TOKEN_TTL = timedelta(minutes=5)
# What an object token may name: the objects that can be shared.
OBJECT_MODELS: tuple[type[Query | Visualization | Dashboard | Dataset | DataSource], ...] = (
    Query,
    Visualization,
    Dashboard,
    Dataset,
    DataSource,
)


class TokenKind(StrEnum):
    """What a user token allows."""

    FULL = "full"  # acts as the user
    OBJECT = "object"  # reads one object
    LOGIN = "login"  # opens one login session, once


@dataclass(frozen=True)
class IssuedUserToken:
    """A token as issued: the plaintext `token` is only available here."""

    token: str
    kind: TokenKind
    user: User
    created_at: datetime
    expires_at: datetime
    object_uuid: uuid_module.UUID | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What a valid token is: its kind, user, lifetime and (object tokens) object."""

    kind: TokenKind
    user: User
    created_at: datetime
    expires_at: datetime
    object_uuid: uuid_module.UUID | None


@dataclass(frozen=True)
class TrustedKey:
    """An organization's trusted-authentication key (plaintext), and when it was made and rotated."""

    key: str
    created_at: datetime
    rotated_at: datetime


def is_user_token(value: str) -> bool:
    """Whether a bearer credential is a user token (rather than an API key or OAuth token)."""
    return value.startswith(USER_TOKEN_PREFIX)


def new_user_token() -> str:
    """A fresh user token: the prefix and 40 lowercase hex characters (160 bits)."""
    return USER_TOKEN_PREFIX + pysecrets.token_hex(20)


def new_trusted_key() -> str:
    """A fresh trusted-authentication key (about 256 bits of entropy)."""
    return TRUSTED_KEY_PREFIX + pysecrets.token_urlsafe(32)


class UserTokenService:
    """User tokens by password or trusted key, the keys themselves, and login tokens."""

    def __init__(self, db: Database, box: SecretBox, identity: IdentityService) -> None:
        self.db = db
        self.box = box
        self.identity = identity

    # ----- trusted-authentication keys (admins) ---------------------------------------------
    def create_trusted_key(self, principal: Principal) -> TrustedKey:
        """Enable trusted authentication for the organization; ConflictError if it has a key."""
        _require_admin(principal)
        key = new_trusted_key()
        with self.db.session() as s:
            if s.scalar(select(TrustedAuthKey).where(TrustedAuthKey.org_id == principal.org_id)):
                raise ConflictError("the organization already has a trusted-authentication key; rotate it")
            row = TrustedAuthKey(
                org_id=principal.org_id, key_hash=token_hash(key), key_encrypted=self.box.encrypt(key)
            )
            s.add(row)
            s.flush()
            return TrustedKey(key, row.created_at, row.updated_at)

    def reveal_trusted_key(self, principal: Principal) -> TrustedKey | None:
        """The organization's key, or None when trusted authentication was never enabled."""
        _require_admin(principal)
        with self.db.session() as s:
            row = s.scalar(select(TrustedAuthKey).where(TrustedAuthKey.org_id == principal.org_id))
            if row is None:
                return None
            return TrustedKey(self.box.decrypt(row.key_encrypted), row.created_at, row.updated_at)

    def rotate_trusted_key(self, principal: Principal) -> TrustedKey:
        """Replace the organization's key with a new one (creating it when there is none)."""
        _require_admin(principal)
        key = new_trusted_key()
        with self.db.session() as s:
            row = s.scalar(select(TrustedAuthKey).where(TrustedAuthKey.org_id == principal.org_id))
            if row is None:
                row = TrustedAuthKey(org_id=principal.org_id, key_hash="", key_encrypted="")
                s.add(row)
            row.key_hash = token_hash(key)
            row.key_encrypted = self.box.encrypt(key)
            row.updated_at = utcnow()
            s.flush()
            return TrustedKey(key, row.created_at, row.updated_at)

    def disable_trusted_key(self, principal: Principal) -> bool:
        """Turn trusted authentication off: the key stops working at once (False if it was off)."""
        _require_admin(principal)
        with self.db.session() as s:
            done = s.execute(delete(TrustedAuthKey).where(TrustedAuthKey.org_id == principal.org_id))
            return bool(cast(CursorResult[Any], done).rowcount)

    # ----- issuing --------------------------------------------------------------------------
    def issue_with_password(
        self,
        username: str,
        password: str,
        *,
        kind: TokenKind = TokenKind.FULL,
        validity_seconds: int = 300,
        org_id: int | None = None,
        object_uuid: str | None = None,
    ) -> IssuedUserToken:
        """A token for the user whose e-mail is `username` (any case), given their password.

        `org_id` restricts the search to one organization; without it the password must match
        exactly one user of that e-mail (as a login does).
        """
        validity = _validity(kind, validity_seconds)
        with self.db.session() as s:
            user = user_by_password(s, username, password, org_id=org_id, wrong="wrong username or password")
            return self._issue(s, user, kind, validity, object_uuid)

    def issue_with_key(
        self,
        secret_key: str,
        username: str,
        *,
        kind: TokenKind = TokenKind.FULL,
        validity_seconds: int = 300,
        org_id: int | None = None,
        object_uuid: str | None = None,
        create_as: str | None = None,
    ) -> IssuedUserToken:
        """A token for the user of the key's organization whose e-mail is `username`.

        With `create_as` (a display name) a missing user is created first, as a viewer.
        """
        validity = _validity(kind, validity_seconds)
        key_org = self._organization_of_key(secret_key)
        if org_id is not None and org_id != key_org:
            raise AuthenticationError("the trusted-authentication key is not that organization's")
        email = username.strip().lower()
        user = self._user_by_email(key_org, email)
        if user is None and create_as is not None:
            self.identity.create_user(
                Principal.system(key_org), email=email, name=create_as.strip() or email, role="viewer"
            )
            user = self._user_by_email(key_org, email)
        if user is None:
            raise NotFoundError("user", username)
        if user.disabled_at is not None:
            raise AuthenticationError("the user is disabled")
        with self.db.session() as s:
            return self._issue(s, user, kind, validity, object_uuid)

    # ----- using ----------------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal:
        """The principal of a full token; AuthenticationError when unknown, expired, used or scoped."""
        principal, object_uuid = self.authenticate_scoped(token)
        if object_uuid is not None:
            raise AuthenticationError(f"this token reaches object {object_uuid} only")
        return principal

    def authenticate_scoped(self, token: str) -> tuple[Principal, uuid_module.UUID | None]:
        """The principal of a full or object token, and the object it is limited to (if any)."""
        with self.db.session() as s:
            record, user = self._valid(s, token)
            if record.kind == TokenKind.LOGIN:
                raise AuthenticationError("a login token opens a session; it is not a bearer token")
            if record.kind != TokenKind.OBJECT:
                return _principal_of(user, "user_token", session=s), None
            principal = _principal_of(user, "object_token", session=s)
            scope = _object_closure(s, user.org_id, record.object_uuid)
            return replace(principal, object_scope=scope), record.object_uuid

    def describe(self, token: str) -> TokenInfo:
        """What a valid token is (any kind); AuthenticationError otherwise."""
        with self.db.session() as s:
            record, user = self._valid(s, token)
            return TokenInfo(
                TokenKind(record.kind), user, record.created_at, record.expires_at, record.object_uuid
            )

    def consume_login_token(self, token: str, username: str) -> tuple[str, User]:
        """Open a login session with a login token (once) or a full token; (session token, user)."""
        with self.db.session() as s:
            record, user = self._valid(s, token)
            if user.email != username.strip().lower():
                raise AuthenticationError("the token was issued for another user")
            if record.kind == TokenKind.OBJECT:
                raise AuthenticationError("an object token cannot open a session")
            if record.kind == TokenKind.LOGIN:
                # Conditional update: of two concurrent uses, only one finds it unused.
                done = s.execute(
                    update(UserToken)
                    .where(UserToken.id == record.id, UserToken.used_at.is_(None))
                    .values(used_at=utcnow())
                )
                if cast(CursorResult[Any], done).rowcount != 1:
                    raise AuthenticationError("the login token was already used")
        return self.identity.open_session(user.id), user

    def revoke(self, principal: Principal, token: str) -> None:
        """End a token: the caller's own, or (admins) any of the organization's."""
        with self.db.session() as s:
            record = s.scalar(select(UserToken).where(UserToken.token_hash == token_hash(token)))
            if record is None or record.org_id != principal.org_id:
                raise NotFoundError("token", token[: len(USER_TOKEN_PREFIX) + 4] + "...")
            if record.user_id != principal.user_id:
                principal.require(Action.MANAGE_USERS, "tokens of other users")
            s.delete(record)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete tokens that expired before `now`; how many went."""
        with self.db.session() as s:
            done = s.execute(delete(UserToken).where(UserToken.expires_at <= (now or utcnow())))
            return cast(CursorResult[Any], done).rowcount

    # ----- helpers --------------------------------------------------------------------------
    def _issue(
        self, s: Session, user: User, kind: TokenKind, validity: timedelta, object_uuid: str | None
    ) -> IssuedUserToken:
        scope = self._object_scope(s, user.org_id, kind, object_uuid)
        token = new_user_token()
        now = utcnow()
        s.add(
            UserToken(
                org_id=user.org_id,
                user_id=user.id,
                token_hash=token_hash(token),
                kind=kind.value,
                object_uuid=scope,
                expires_at=now + validity,
                created_at=now,
            )
        )
        s.flush()
        return IssuedUserToken(token, kind, user, now, now + validity, scope)

    @staticmethod
    def _object_scope(
        s: Session, org_id: int, kind: TokenKind, object_uuid: str | None
    ) -> uuid_module.UUID | None:
        if kind != TokenKind.OBJECT:
            if object_uuid is not None:
                raise InvalidInputError("object_id", "only object tokens name an object")
            return None
        if not object_uuid:
            raise InvalidInputError("object_id", "required for an object token")
        try:
            wanted = uuid_module.UUID(str(object_uuid))
        except ValueError:
            raise InvalidInputError("object_id", "a GUID") from None
        for model in OBJECT_MODELS:
            if s.scalar(select(model.id).where(model.uuid == wanted, model.org_id == org_id)) is not None:
                return wanted
        raise NotFoundError("object", object_uuid)

    def _valid(self, s: Session, token: str) -> tuple[UserToken, User]:
        if not USER_TOKEN_RE.match(token):
            raise AuthenticationError("invalid token")
        row = s.execute(
            select(UserToken, User)
            .join(User, User.id == UserToken.user_id)
            .where(UserToken.token_hash == token_hash(token))
        ).first()
        if row is None:
            raise AuthenticationError("invalid token")
        record, user = row
        if record.expires_at <= utcnow():
            raise AuthenticationError("token expired")
        if record.used_at is not None:
            raise AuthenticationError("the login token was already used")
        if user.disabled_at is not None:
            raise AuthenticationError("the token's user is disabled")
        return record, user

    def _organization_of_key(self, secret_key: str) -> int:
        with self.db.session() as s:
            org_id = s.scalar(
                select(TrustedAuthKey.org_id).where(TrustedAuthKey.key_hash == token_hash(secret_key))
            )
        if org_id is None:
            raise AuthenticationError("invalid trusted-authentication key")
        return org_id

    def _user_by_email(self, org_id: int, email: str) -> User | None:
        with self.db.session() as s:
            return s.scalar(select(User).where(User.org_id == org_id, User.email == email))


def _require_admin(principal: Principal) -> None:
    # Keys act for anyone of the organization: only people who manage users may hold them.
    principal.require(Action.MANAGE_USERS, "trusted authentication")


def _validity(kind: TokenKind, seconds: Any) -> timedelta:
    if kind == TokenKind.LOGIN:
        return LOGIN_TOKEN_TTL
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidInputError("validity_seconds", "a whole number of seconds")
    if not MIN_VALIDITY_SECONDS <= seconds <= MAX_VALIDITY_SECONDS:
        raise InvalidInputError(
            "validity_seconds", f"between {MIN_VALIDITY_SECONDS} and {MAX_VALIDITY_SECONDS:,} seconds"
        )
    return timedelta(seconds=seconds)


def _object_closure(
    s: Session, org_id: int, object_uuid: uuid_module.UUID | None
) -> frozenset[tuple[str, int]]:
    """What an object token reaches: its object, plus what that object shows (a dashboard's
    visualizations and their queries, a query's visualizations, a visualization's query)."""
    for model, kind in _OBJECT_KINDS:
        found = s.scalar(select(model.id).where(model.org_id == org_id, model.uuid == object_uuid))
        if found is None:
            continue
        reached = {(kind, found)}
        if kind == "dashboard":
            rows = s.execute(
                select(Visualization.id, Visualization.query_id)
                .join(Widget, Widget.visualization_id == Visualization.id)
                .where(Widget.dashboard_id == found)
            )
            for viz_id, query_id in rows:
                reached |= {("visualization", viz_id), ("query", query_id)}
        elif kind == "query":
            viz_ids = s.scalars(select(Visualization.id).where(Visualization.query_id == found))
            reached |= {("visualization", viz_id) for viz_id in viz_ids}
        elif kind == "visualization":
            parent = s.scalar(select(Visualization.query_id).where(Visualization.id == found))
            if parent is not None:
                reached.add(("query", parent))
        return frozenset(reached)
    return frozenset()  # the object is gone: the token reaches nothing


_OBJECT_KINDS: tuple[tuple[Any, str], ...] = (
    (Query, "query"),
    (Visualization, "visualization"),
    (Dashboard, "dashboard"),
    (Dataset, "dataset"),
    (DataSource, "data_source"),
)
