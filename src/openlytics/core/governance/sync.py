"""Full synchronisation of users and groups from a list of principals (an identity provider's view).

Each principal is a user (named by e-mail) or a group (named by name) with the groups it belongs
to. A sync creates the principals that are missing, updates those that differ, makes every listed
principal's memberships exactly those listed, and (with `remove_deleted`) deletes the users and
groups the list leaves out — never the caller. It runs in one unit of work: all of it or nothing;
with `apply=False` it only reports what it would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from openlytics.core.errors import InvalidInputError
from openlytics.core.governance.groups import GroupService
from openlytics.core.identity import IdentityService
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Action, Principal, Role
from openlytics.store.db import Database
from openlytics.store.models import Team, User

KINDS = ("user", "group")


@dataclass(frozen=True)
class PrincipalSpec:
    """One principal as the list gives it."""

    kind: str  # user | group
    name: str  # a user's e-mail, a group's name
    display_name: str | None = None
    description: str | None = None
    visibility: str | None = None
    groups: tuple[str, ...] = ()  # names of the groups it is directly in
    password: str | None = None  # a new user's password (else the sync's default)


@dataclass
class SyncResult:
    """Names of what was (or, without applying, would be) added, updated and deleted."""

    users_added: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    users_deleted: list[str] = field(default_factory=list)
    groups_added: list[str] = field(default_factory=list)
    groups_updated: list[str] = field(default_factory=list)
    groups_deleted: list[str] = field(default_factory=list)


class PrincipalSync:
    """Make the organization's users and groups those of a list (admins)."""

    def __init__(self, db: Database, identity: IdentityService, groups: GroupService) -> None:
        self.db = db
        self.identity = identity
        self.groups = groups

    def sync(
        self,
        principal: Principal,
        specs: Sequence[PrincipalSpec],
        *,
        apply: bool = True,
        remove_deleted: bool = False,
        password: str | None = None,
    ) -> SyncResult:
        """Create, update (and with `remove_deleted` delete) users and groups to match `specs`."""
        principal.require(Action.MANAGE_USERS, "users and groups (sync)")
        users = [s for s in specs if s.kind == "user"]
        group_specs = [s for s in specs if s.kind == "group"]
        _check(specs)
        result = SyncResult()
        with self.db.unit_of_work(commit=apply):
            teams = {t.name: t for t in self.groups.list(principal)}
            self._sync_groups(principal, group_specs, teams, result)
            listed = all_pages(lambda p, n: self.identity.list_users(principal, page=p, per_page=n))
            people = {u.email: u for u in listed}
            self._sync_users(principal, users, people, teams, password, result)
            self._sync_nesting(principal, group_specs, teams, result)
            if remove_deleted:
                self._remove_missing(principal, specs, people, teams, result)
        return result

    # ----- steps -----------------------------------------------------------------------------------
    def _sync_groups(
        self, principal: Principal, specs: list[PrincipalSpec], teams: dict[str, Team], result: SyncResult
    ) -> None:
        for spec in specs:
            team = teams.get(spec.name)
            if team is None:
                teams[spec.name] = self.groups.create(
                    principal,
                    spec.name,
                    display_name=spec.display_name,
                    description=spec.description,
                    visibility=spec.visibility or "DEFAULT",
                )
                result.groups_added.append(spec.name)
                continue

            def changed(value: str | None, current: str | None) -> str | None:
                return value if value is not None and value != current else None

            display_name = changed(spec.display_name, team.display_name)
            description = changed(spec.description, team.description)
            visibility = changed(spec.visibility, team.visibility)
            if display_name or description or visibility:
                teams[spec.name] = self.groups.update(
                    principal,
                    team.id,
                    display_name=display_name,
                    description=description,
                    visibility=visibility,
                )
                result.groups_updated.append(spec.name)

    def _sync_users(
        self,
        principal: Principal,
        specs: list[PrincipalSpec],
        people: dict[str, User],
        teams: dict[str, Team],
        password: str | None,
        result: SyncResult,
    ) -> None:
        for spec in specs:
            email = spec.name.strip().lower()
            user = people.get(email)
            if user is None:
                user = self.identity.create_user(
                    principal,
                    email=email,
                    name=spec.display_name or email,
                    role=Role.VIEWER.value,
                    password=spec.password or password,
                )
                people[email] = user
                result.users_added.append(email)
            elif spec.display_name and spec.display_name != user.name:
                self.identity.update_user(principal, user.id, name=spec.display_name)
                result.users_updated.append(email)
            wanted = {_team(teams, name, spec).id for name in spec.groups}
            current = {t.id for t in self.groups.user_groups(principal, user.id)}
            if wanted != current:
                self.groups.set_user_groups(principal, user.id, wanted, "REPLACE")
                if email not in result.users_added and email not in result.users_updated:
                    result.users_updated.append(email)

    def _sync_nesting(
        self, principal: Principal, specs: list[PrincipalSpec], teams: dict[str, Team], result: SyncResult
    ) -> None:
        """Each listed group is inside exactly the groups it lists."""
        for spec in specs:
            team = teams[spec.name]
            wanted = {_team(teams, name, spec).id for name in spec.groups}
            current = {t.id for t in self.groups.parent_groups(principal, team.id)}
            for parent_id in wanted - current:
                self.groups.set_member_groups(principal, parent_id, [team.id], "ADD")
            for parent_id in current - wanted:
                self.groups.set_member_groups(principal, parent_id, [team.id], "REMOVE")
            if wanted != current and spec.name not in (*result.groups_added, *result.groups_updated):
                result.groups_updated.append(spec.name)

    def _remove_missing(
        self,
        principal: Principal,
        specs: Sequence[PrincipalSpec],
        people: dict[str, User],
        teams: dict[str, Team],
        result: SyncResult,
    ) -> None:
        listed_users = {s.name.strip().lower() for s in specs if s.kind == "user"}
        listed_groups = {s.name for s in specs if s.kind == "group"}
        for email, user in sorted(people.items()):
            if email in listed_users or user.id == principal.user_id or user.is_superadmin:
                continue
            self.identity.delete_user(principal, user.id)
            result.users_deleted.append(email)
        for name, team in sorted(teams.items()):
            if name not in listed_groups:
                self.groups.delete(principal, team.id)
                result.groups_deleted.append(name)


def _check(specs: Sequence[PrincipalSpec]) -> None:
    seen: set[tuple[str, str]] = set()
    for position, spec in enumerate(specs):
        where = f"principals[{position}]"
        if spec.kind not in KINDS:
            raise InvalidInputError(f"{where}.type", "a user or a group")
        if not spec.name or not spec.name.strip():
            raise InvalidInputError(f"{where}.name", "required")
        if spec.kind == "user" and "@" not in spec.name:
            raise InvalidInputError(f"{where}.name", f"a user is named by e-mail, not {spec.name!r}")
        key = (spec.kind, spec.name.strip().lower() if spec.kind == "user" else spec.name)
        if key in seen:
            raise InvalidInputError(f"{where}.name", f"{spec.name!r} is listed twice")
        seen.add(key)


def _team(teams: dict[str, Team], name: str, spec: PrincipalSpec) -> Team:
    team = teams.get(name)
    if team is None:
        raise InvalidInputError("principals", f"{spec.name!r} is in group {name!r}, which does not exist")
    return team
