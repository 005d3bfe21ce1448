"""Organizations, users, API keys and login sessions; turning credentials into a Principal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access
from openlytics.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.governance.privileges import effective_team_ids, granted_actions
from openlytics.core.pagination import Page, paginate
from openlytics.core.principal import Action, Principal, Role
from openlytics.core.secrets import (
    SecretBox,
    hash_password,
    new_api_key,
    new_token,
    token_hash,
    verify_password,
)
from openlytics.store.db import Database
from openlytics.store.models import ApiKey, LoginSession, Organization, Query, Share, User
from openlytics.store.types import utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Writing last_used_at on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: What a superadmin may ask for an organization's warehouse -> the engine it runs on.
WAREHOUSES = {"embedded": "duckdb", "postgresql": "postgresql"}
#: Called with every new organization in its transaction, and the warehouse engine asked (None: default).
OrganizationCreated = Callable[[Session, Organization, str | None], object]


@dataclass(frozen=True)
class IssuedKey:
    """An API key as created: the plaintext `key` is only available here, once."""

    record: ApiKey
    key: str


@dataclass(frozen=True)
class NewOrganization:
    """A created organization with its first admin and that admin's key."""

    organization: Organization
    admin: User
    api_key: IssuedKey


class IdentityService:
    """Organizations, users, keys and sessions."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        session_ttl: timedelta = timedelta(days=14),
        on_organization_created: OrganizationCreated | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.session_ttl = session_ttl
        self._on_org_created = on_organization_created
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    # ----- organizations -----------------------------------------------------------------
    def bootstrap(
        self,
        *,
        org_name: str,
        admin_email: str,
        admin_name: str,
        admin_password: str | None,
        admin_api_key: str | None,
    ) -> NewOrganization | None:
        """Create the default organization and its superadmin once; None when it already exists."""
        with self.db.session() as s:
            if s.scalar(select(func.count()).select_from(Organization)):
                if admin_api_key:
                    self._ensure_bootstrap_key(s, admin_email, admin_api_key)
                return None
            created = self._create_org(
                s,
                name=org_name,
                slug=_slugify(org_name),
                admin_email=admin_email,
                admin_name=admin_name,
                admin_password=admin_password,
                superadmin=True,
                api_key=admin_api_key,
            )
        return created

    def _ensure_bootstrap_key(self, s: Session, admin_email: str, key: str) -> None:
        # Idempotent restarts: the configured key keeps working, and is not duplicated.
        if s.scalar(select(ApiKey).where(ApiKey.key_hash == token_hash(key))) is not None:
            return
        admin = s.scalar(select(User).where(User.email == admin_email.lower(), User.is_superadmin.is_(True)))
        if admin is not None:
            s.add(self._key_record(admin.org_id, admin.id, None, "bootstrap", key))

    def create_organization(
        self,
        principal: Principal,
        *,
        name: str,
        admin_email: str,
        slug: str | None = None,
        admin_name: str | None = None,
        admin_password: str | None = None,
        warehouse: str | None = None,
    ) -> NewOrganization:
        """Create an organization with a first admin (superadmins only); `warehouse` ("embedded" or
        "postgresql") chooses its warehouse, by default PostgreSQL when the server has one."""
        principal.require(Action.MANAGE_ORGS, "organizations")
        if warehouse is not None and warehouse not in WAREHOUSES:
            raise InvalidInputError("warehouse", f"one of {', '.join(WAREHOUSES)}")
        if not name.strip():
            raise InvalidInputError("name", "must not be empty")
        slug = slug or _slugify(name)
        if not SLUG_RE.match(slug):
            raise InvalidInputError("slug", "lowercase letters, digits and dashes")
        with self.db.session() as s:
            if s.scalar(select(Organization).where(Organization.slug == slug)) is not None:
                raise ConflictError(f"organization slug {slug!r} is taken", field="slug")
            return self._create_org(
                s,
                name=name,
                slug=slug,
                admin_email=admin_email,
                admin_name=admin_name or admin_email.split("@")[0],
                admin_password=admin_password,
                superadmin=False,
                api_key=None,
                warehouse_engine=WAREHOUSES[warehouse] if warehouse else None,
            )

    def _create_org(
        self,
        s: Session,
        *,
        name: str,
        slug: str,
        admin_email: str,
        admin_name: str,
        admin_password: str | None,
        superadmin: bool,
        api_key: str | None,
        warehouse_engine: str | None = None,
    ) -> NewOrganization:
        org = Organization(name=name, slug=slug)
        s.add(org)
        s.flush()
        admin = self._new_user(s, org.id, admin_email, admin_name, Role.ADMIN, admin_password)
        admin.is_superadmin = superadmin
        key = api_key or new_api_key()
        record = self._key_record(org.id, admin.id, None, "admin", key)
        s.add(record)
        s.flush()
        if self._on_org_created is not None:
            self._on_org_created(s, org, warehouse_engine)
        return NewOrganization(org, admin, IssuedKey(record, key))

    def get_organization(self, principal: Principal) -> Organization:
        """The caller's organization."""
        with self.db.session() as s:
            org = s.get(Organization, principal.org_id)
            if org is None:
                raise NotFoundError("organization", principal.org_id)
            return org

    def organizations(self) -> list[Organization]:
        """Every organization (server-internal use)."""
        with self.db.session() as s:
            return list(s.scalars(select(Organization).order_by(Organization.id)))

    # ----- credentials -> principal --------------------------------------------------------
    def authenticate_api_key(self, key: str) -> Principal:
        """The principal of a user or query key; AuthenticationError when invalid."""
        now = utcnow()
        with self.db.session() as s:
            row = s.execute(
                select(ApiKey, User)
                .outerjoin(User, User.id == ApiKey.user_id)
                .where(ApiKey.key_hash == token_hash(key))
            ).first()
            if row is None or row[0].revoked_at is not None:
                raise AuthenticationError("invalid API key")
            record, user = row
            if record.expires_at is not None and record.expires_at <= now:
                raise AuthenticationError("API key expired")
            if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
                record.last_used_at = now
            if record.query_id is not None:
                return Principal(
                    org_id=record.org_id,
                    user_id=None,
                    role=Role.VIEWER,
                    credential="query_key",
                    query_scope=record.query_id,
                    api_key_id=record.id,
                )
            if user is None or user.disabled_at is not None:
                raise AuthenticationError("the key's user is disabled")
            return _principal_of(user, "user_key", session=s, api_key_id=record.id)

    def login(self, email: str, password: str, organization: str | None = None) -> tuple[str, User]:
        """Check a password and open a session; returns (session token, user)."""
        with self.db.session() as s:
            user = user_by_password(s, email, password, org_slug=organization)
            return self._open_session(s, user), user

    def open_session(self, user_id: int) -> str:
        """Open a session for an enabled user who proved who they are otherwise (a login token)."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None or user.disabled_at is not None:
                raise AuthenticationError("user is disabled")
            return self._open_session(s, user)

    def _open_session(self, s: Session, user: User) -> str:
        token = new_token()
        s.add(
            LoginSession(
                org_id=user.org_id,
                user_id=user.id,
                token_hash=token_hash(token),
                expires_at=utcnow() + self.session_ttl,
            )
        )
        user.last_seen_at = utcnow()
        return token

    def authenticate_session(self, token: str) -> Principal:
        """The principal of a session cookie."""
        with self.db.session() as s:
            row = s.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
            if row is None or row.expires_at <= utcnow():
                raise AuthenticationError("session expired, log in again")
            user = s.get(User, row.user_id)
            if user is None or user.disabled_at is not None:
                raise AuthenticationError("user is disabled")
            return _principal_of(user, "session", session=s)

    def logout(self, token: str) -> None:
        """End a session."""
        with self.db.session() as s:
            row = s.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
            if row is not None:
                s.delete(row)

    # ----- users -------------------------------------------------------------------------
    def current_user(self, principal: Principal) -> User | None:
        """The caller's user record (None for query keys and the system)."""
        if principal.user_id is None:
            return None
        with self.db.session() as s:
            return s.get(User, principal.user_id)

    def list_users(
        self, principal: Principal, *, page: int, per_page: int, disabled: bool | None = None
    ) -> Page[User]:
        """Users of the caller's organization (only disabled or only active ones if asked)."""
        principal.require(Action.READ, "users")
        if principal.is_query_key:
            raise PermissionDeniedError("read", "users")
        with self.db.session() as s:
            stmt = select(User).where(User.org_id == principal.org_id).order_by(User.id)
            if disabled is not None:
                stmt = stmt.where(User.disabled_at.is_not(None) if disabled else User.disabled_at.is_(None))
            return paginate(s, stmt, page, per_page)

    def get_user(self, principal: Principal, user_id: int) -> User:
        """One user of the caller's organization."""
        if principal.is_query_key:
            raise PermissionDeniedError("read", "users")
        with self.db.session() as s:
            return self._user(s, principal, user_id)

    def create_user(
        self, principal: Principal, *, email: str, name: str, role: str, password: str | None = None
    ) -> User:
        """Add a user to the caller's organization (admins)."""
        principal.require(Action.MANAGE_USERS, "users")
        with self.db.session() as s:
            return self._new_user(s, principal.org_id, email, name, _role(role), password)

    def update_user(
        self,
        principal: Principal,
        user_id: int,
        *,
        name: str | None = None,
        role: str | None = None,
        password: str | None = None,
        is_disabled: bool | None = None,
    ) -> User:
        """Change a user; people may change their own name and password, admins everything."""
        is_self = principal.user_id == user_id
        if not is_self or role is not None or is_disabled is not None:
            principal.require(Action.MANAGE_USERS, f"user {user_id}")
        with self.db.session() as s:
            user = self._user(s, principal, user_id)
            if name is not None:
                user.name = _nonempty("name", name)
            if role is not None:
                user.role = _role(role).value
            if password is not None:
                user.password_hash = hash_password(_password(password))
                s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            if is_disabled is not None:
                if is_disabled and is_self:
                    raise InvalidInputError("is_disabled", "you cannot disable yourself")
                user.disabled_at = utcnow() if is_disabled else None
            return user

    def delete_user(self, principal: Principal, user_id: int) -> None:
        """Delete a user of the organization (admins).

        Their API keys, sessions, OAuth clients, favorites, alert subscriptions and team memberships
        go with them (foreign keys cascade), and so does what was shared with them; what they
        created (queries, dashboards, datasets...) stays, with no owner. Nobody can delete
        themselves, a superadmin, or the organization's last enabled admin.
        """
        principal.require(Action.MANAGE_USERS, f"user {user_id}")
        if principal.user_id == user_id:
            raise InvalidInputError("user_id", "you cannot delete yourself")
        with self.db.session() as s:
            user = self._user(s, principal, user_id)
            if user.is_superadmin:
                raise ConflictError("a superadmin cannot be deleted", user_id=user_id)
            if user.role == Role.ADMIN.value and user.disabled_at is None:
                other_admins = s.scalar(
                    select(func.count())
                    .select_from(User)
                    .where(
                        User.org_id == principal.org_id,
                        User.id != user_id,
                        User.role == Role.ADMIN.value,
                        User.disabled_at.is_(None),
                    )
                )
                if not other_admins:
                    raise ConflictError(
                        "cannot delete the organization's last enabled admin; make another user admin first",
                        user_id=user_id,
                    )
            s.execute(delete(Share).where(Share.principal_kind == "user", Share.principal_id == user_id))
            s.execute(delete(User).where(User.id == user_id))

    def find_user_by_email(self, principal: Principal, email: str) -> User:
        """A user of the caller's organization by e-mail (NotFoundError otherwise)."""
        if principal.is_query_key:
            raise PermissionDeniedError("read", "users")
        with self.db.session() as s:
            user = s.scalar(
                select(User).where(User.org_id == principal.org_id, User.email == email.strip().lower())
            )
        if user is None:
            raise NotFoundError("user", email)
        return user

    def set_user_metadata(self, principal: Principal, metadata: dict[str, dict[str, Any]]) -> int:
        """Replace the metadata of the organization's users, keyed by e-mail (admins); users matched."""
        principal.require(Action.MANAGE_USERS, "user metadata")
        if not all(isinstance(k, str) and isinstance(v, dict) for k, v in metadata.items()):
            raise InvalidInputError("metadata", "an object per user login")
        with self.db.session() as s:
            org = s.get(Organization, principal.org_id)
            assert org is not None
            emails = set(s.scalars(select(User.email).where(User.org_id == principal.org_id)))
            known = {login.lower(): values for login, values in metadata.items() if login.lower() in emails}
            stored = json.loads(json.dumps(known, default=str))  # JSON-ready (dates as text)
            org.settings = {**(org.settings or {}), "user_metadata": stored}
            return len(known)

    def user_metadata(self, principal: Principal, email: str) -> dict[str, Any]:
        """The metadata stored for one user of the organization (empty when none)."""
        with self.db.session() as s:
            org = s.get(Organization, principal.org_id)
            stored = ((org.settings or {}) if org else {}).get("user_metadata", {})
        return dict(stored.get(email.lower(), {}))

    def _user(self, s: Session, principal: Principal, user_id: int) -> User:
        user = s.get(User, user_id)
        if user is None or user.org_id != principal.org_id:
            raise NotFoundError("user", user_id)
        return user

    def _new_user(
        self, s: Session, org_id: int, email: str, name: str, role: Role, password: str | None
    ) -> User:
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            raise InvalidInputError("email", "not an e-mail address")
        exists = s.scalar(select(User).where(User.org_id == org_id, User.email == email))
        if exists is not None:
            raise ConflictError(f"a user with e-mail {email} exists", field="email")
        user = User(
            org_id=org_id,
            email=email,
            name=_nonempty("name", name),
            role=role.value,
            password_hash=hash_password(_password(password)) if password is not None else None,
        )
        s.add(user)
        s.flush()
        return user

    # ----- API keys ----------------------------------------------------------------------
    def list_api_keys(
        self, principal: Principal, *, user_id: int | None, page: int, per_page: int
    ) -> Page[ApiKey]:
        """Keys of the caller (or, for admins, of `user_id` / everyone), never their secret."""
        if principal.is_query_key or principal.user_id is None:
            raise PermissionDeniedError("read", "api keys")
        stmt = select(ApiKey).where(ApiKey.org_id == principal.org_id, ApiKey.revoked_at.is_(None))
        if principal.can(Action.MANAGE_USERS):
            if user_id is not None:
                stmt = stmt.where(ApiKey.user_id == user_id)
        else:
            if user_id not in (None, principal.user_id):
                raise PermissionDeniedError("read", f"api keys of user {user_id}")
            stmt = stmt.where(ApiKey.user_id == principal.user_id)
        with self.db.session() as s:
            return paginate(s, stmt.order_by(ApiKey.id), page, per_page)

    def create_api_key(
        self,
        principal: Principal,
        *,
        name: str,
        user_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        """A new user key, for the caller or (admins) another user of the organization."""
        if principal.is_query_key or principal.user_id is None:
            raise PermissionDeniedError("create", "api keys")
        owner = user_id or principal.user_id
        if owner != principal.user_id:
            principal.require(Action.MANAGE_USERS, f"api keys of user {owner}")
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInputError("expires_at", "must be in the future")
        with self.db.session() as s:
            self._user(s, principal, owner)
            key = new_api_key()
            record = self._key_record(principal.org_id, owner, None, name, key, expires_at)
            s.add(record)
            s.flush()
            return IssuedKey(record, key)

    def create_query_key(self, principal: Principal, query_id: int, *, name: str = "") -> IssuedKey:
        """A key that reaches only one query and its results."""
        principal.require(Action.WRITE, f"query {query_id}")
        with self.db.session() as s:
            query = s.get(Query, query_id)
            if query is None or query.org_id != principal.org_id:
                raise NotFoundError("query", query_id)
            # A query key reads the query's results whatever its shares: issuing one shares it.
            require_access(self.sharing, principal, "query", query_id, "MODIFY")
            key = new_api_key()
            record = self._key_record(principal.org_id, None, query_id, name or f"query {query_id}", key)
            s.add(record)
            s.flush()
            return IssuedKey(record, key)

    def reveal_query_key(self, principal: Principal, query_id: int) -> str | None:
        """The plaintext of the newest key of a query, for dialects whose query objects show it."""
        principal.require(Action.READ, f"query {query_id}")
        with self.db.session() as s:
            record = s.scalar(
                select(ApiKey)
                .where(
                    ApiKey.org_id == principal.org_id,
                    ApiKey.query_id == query_id,
                    ApiKey.revoked_at.is_(None),
                )
                .order_by(ApiKey.id.desc())
                .limit(1)
            )
            return self.box.decrypt(record.key_encrypted) if record else None

    def reveal_user_key(self, principal: Principal, user_id: int) -> str | None:
        """The plaintext of a user's newest active key (admins), for dialects that show it."""
        principal.require(Action.MANAGE_USERS, f"api keys of user {user_id}")
        with self.db.session() as s:
            self._user(s, principal, user_id)
            record = s.scalar(
                select(ApiKey)
                .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                .order_by(ApiKey.id.desc())
                .limit(1)
            )
            if record is None or (record.expires_at is not None and record.expires_at <= utcnow()):
                return None
            return self.box.decrypt(record.key_encrypted)

    def revoke_api_key(self, principal: Principal, key_id: int) -> None:
        """Revoke a key: the owner, or an admin of the organization."""
        if principal.is_query_key or principal.user_id is None:
            raise PermissionDeniedError("revoke", "api keys")
        with self.db.session() as s:
            record = s.get(ApiKey, key_id)
            if record is None or record.org_id != principal.org_id or record.revoked_at is not None:
                raise NotFoundError("api key", key_id)
            if record.user_id != principal.user_id:
                principal.require(Action.MANAGE_USERS, f"api key {key_id}")
            record.revoked_at = utcnow()

    def _key_record(
        self,
        org_id: int,
        user_id: int | None,
        query_id: int | None,
        name: str,
        key: str,
        expires_at: datetime | None = None,
    ) -> ApiKey:
        return ApiKey(
            org_id=org_id,
            user_id=user_id,
            query_id=query_id,
            name=name,
            key_hash=token_hash(key),
            key_encrypted=self.box.encrypt(key),
            prefix=key[:8],
            expires_at=expires_at,
        )


_DUMMY_HASH = hash_password("openlytics-timing-equaliser")


def user_by_password(
    s: Session,
    email: str,
    password: str,
    *,
    org_id: int | None = None,
    org_slug: str | None = None,
    wrong: str = "wrong email or password",
) -> User:
    """The one enabled user with this e-mail (in the organization, when given) whose password this
    is; AuthenticationError(`wrong`) otherwise. Hashes even when nobody matches, so timing does not
    reveal which e-mails exist."""
    stmt = select(User).where(User.email == email.strip().lower())
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    if org_slug:
        stmt = stmt.join(Organization).where(Organization.slug == org_slug)
    users = list(s.scalars(stmt))
    candidates = [u for u in users if verify_password(u.password_hash, password)]
    if not users:
        verify_password(_DUMMY_HASH, password)
    if len(candidates) != 1 or candidates[0].disabled_at is not None:
        raise AuthenticationError(wrong)
    return candidates[0]


def _principal_of(
    user: User, credential: str, *, session: Session, api_key_id: int | None = None
) -> Principal:
    """The principal of an authenticated user, with their effective groups and what those grant."""
    team_ids = effective_team_ids(session, user.org_id, user.id)
    return Principal(
        org_id=user.org_id,
        user_id=user.id,
        role=Role(user.role),
        credential=credential,
        is_superadmin=user.is_superadmin,
        api_key_id=api_key_id,
        granted=granted_actions(session, team_ids),
        team_ids=team_ids,
    )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInputError("role", "one of admin, editor, viewer") from None


def _password(value: str) -> str:
    if len(value) < 8:
        raise InvalidInputError("password", "at least 8 characters")
    return value


def _nonempty(field: str, value: str) -> str:
    if not value or not value.strip():
        raise InvalidInputError(field, "must not be empty")
    return value.strip()


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "org"
