"""Who is asking: the principal every core service call receives, and the role permissions.

Authorization lives here in one place: `Principal.require(action)` checks the role, and services
scope every lookup by `principal.org_id` (and by `query_scope` for query keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openlytics.core.errors import PermissionDeniedError


class Role(StrEnum):
    """Roles, weakest first."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


class Action(StrEnum):
    """Everything a principal can be allowed to do."""

    READ = "read"  # see queries, results, data sources, schedules, jobs
    RUN_SAVED = "run_saved"  # run a saved query (with parameter values)
    RUN_ADHOC = "run_adhoc"  # run arbitrary SQL
    WRITE = "write"  # create and edit queries, schedules
    MANAGE_SOURCES = "manage_sources"  # add, edit, delete data sources
    MANAGE_USERS = "manage_users"  # users and other people's keys
    MANAGE_ORGS = "manage_orgs"  # create organizations (superadmin)
    PUSH_ROWS = "push_rows"  # append rows to a dataset (editors, admins, a dataset's push token)
    BYPASS_ROW_FILTERS = "bypass_row_filters"  # read every dataset row whatever the teams' parameters


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ, Action.RUN_SAVED}),
    Role.EDITOR: frozenset({Action.READ, Action.RUN_SAVED, Action.RUN_ADHOC, Action.WRITE, Action.PUSH_ROWS}),
    Role.ADMIN: frozenset(
        {
            Action.READ,
            Action.RUN_SAVED,
            Action.RUN_ADHOC,
            Action.WRITE,
            Action.PUSH_ROWS,
            Action.MANAGE_SOURCES,
            Action.MANAGE_USERS,
            Action.BYPASS_ROW_FILTERS,
        }
    ),
}

# What a query-scoped key may do, and only on its own query and that query's results.
QUERY_KEY_ACTIONS = frozenset({Action.READ, Action.RUN_SAVED})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller within one organization."""

    org_id: int
    user_id: int | None
    role: Role
    credential: str  # "user_key" | "query_key" | "session" | "system"
    is_superadmin: bool = False
    query_scope: int | None = None  # set for query keys: the one query reachable
    api_key_id: int | None = None
    dataset_scope: int | None = None  # set for push tokens: the one dataset they may append to
    # Filled when a user authenticates (core/governance): actions their groups' privileges add to
    # the role, and their effective group ids (direct and through nesting).
    granted: frozenset[Action] = frozenset()
    team_ids: frozenset[int] = frozenset()
    # Set for object tokens: the (kind, id) of the one shared object reachable and of what it shows
    # (a dashboard's visualizations and their queries; a query's visualizations). Read-only.
    object_scope: frozenset[tuple[str, int]] | None = None

    @classmethod
    def system(cls, org_id: int) -> Principal:
        """The server itself acting inside an organization (scheduler, bootstrap)."""
        return cls(org_id=org_id, user_id=None, role=Role.ADMIN, credential="system")

    @classmethod
    def dataset_pusher(cls, org_id: int, dataset_id: int) -> Principal:
        """A dataset's push token: may only append rows to that dataset."""
        return cls(
            org_id=org_id, user_id=None, role=Role.VIEWER, credential="push_token", dataset_scope=dataset_id
        )

    @classmethod
    def public(cls, org_id: int) -> Principal:
        """Anyone holding a public link: may only read what the link reaches."""
        return cls(org_id=org_id, user_id=None, role=Role.VIEWER, credential="public_link")

    def to_json(self) -> dict[str, Any]:
        """Every field as JSON (stored with work done later, elsewhere: a background task)."""
        return {
            "org_id": self.org_id,
            "user_id": self.user_id,
            "role": self.role.value,
            "credential": self.credential,
            "is_superadmin": self.is_superadmin,
            "query_scope": self.query_scope,
            "api_key_id": self.api_key_id,
            "dataset_scope": self.dataset_scope,
            "granted": sorted(action.value for action in self.granted),
            "team_ids": sorted(self.team_ids),
            "object_scope": None
            if self.object_scope is None
            else sorted([k, i] for k, i in self.object_scope),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Principal:
        """The principal `to_json` wrote."""
        scope = data.get("object_scope")
        return cls(
            org_id=int(data["org_id"]),
            user_id=data.get("user_id"),
            role=Role(data["role"]),
            credential=str(data["credential"]),
            is_superadmin=bool(data.get("is_superadmin", False)),
            query_scope=data.get("query_scope"),
            api_key_id=data.get("api_key_id"),
            dataset_scope=data.get("dataset_scope"),
            granted=frozenset(Action(a) for a in data.get("granted") or ()),
            team_ids=frozenset(int(t) for t in data.get("team_ids") or ()),
            object_scope=None if scope is None else frozenset((str(k), int(i)) for k, i in scope),
        )

    def can(self, action: Action) -> bool:
        """Whether the role (or key scope), plus a user's granted privileges, allows `action` at all."""
        if action is Action.MANAGE_ORGS:
            return self.is_superadmin
        if self.dataset_scope is not None:
            return action is Action.PUSH_ROWS
        if self.query_scope is not None or self.object_scope is not None:
            return action in QUERY_KEY_ACTIONS
        if self.credential == "public_link":
            return action is Action.READ
        return action in ROLE_ACTIONS[self.role] or action in self.granted

    def require(self, action: Action, resource: str = "") -> None:
        """Raise PermissionDeniedError unless `can(action)`."""
        if not self.can(action):
            raise PermissionDeniedError(action.value, resource)

    def require_query(self, query_id: int) -> None:
        """Query keys reach only their own query."""
        if self.query_scope is not None and self.query_scope != query_id:
            raise PermissionDeniedError("read", f"query {query_id}")

    @property
    def is_query_key(self) -> bool:
        """Whether this is a query-scoped key."""
        return self.query_scope is not None
