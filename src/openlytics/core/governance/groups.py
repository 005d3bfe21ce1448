"""Groups: teams with privileges, a visibility, an author, and groups nested inside them.

A group IS a team row (core/teams.py keeps names, members and row-filter parameters; this service
adds the governance columns and nesting). Reads need `Action.READ`, changes `Action.MANAGE_USERS`;
everything is scoped to the caller's organization: another organization's ids are NotFoundError.
Member lists change with an `operation`: `ADD`, `REMOVE` or `REPLACE` (the default).
"""

from __future__ import annotations

import builtins
import contextlib
import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.governance.privileges import (
    ROLE_PRIVILEGES,
    Privilege,
    contained_team_ids,
    effective_team_ids,
    parse_privileges,
    team_privileges,
)
from openlytics.core.principal import Action, Principal, Role
from openlytics.core.teams import TeamService, check_operation, membership_changes
from openlytics.store.db import Database
from openlytics.store.models import Organization, Team, TeamMember, TeamNesting, User

# NON_SHARABLE: nothing can be shared with the group. SHARABLE is accepted as DEFAULT.
VISIBILITIES = ("DEFAULT", "NON_SHARABLE")


class GroupService:
    """Groups of an organization: privileges, members, member groups and the groups of a user."""

    def __init__(self, db: Database, teams: TeamService) -> None:
        self.db = db
        self.teams = teams

    # ----- groups ------------------------------------------------------------------------------
    def list(self, principal: Principal, *, pattern: str | None = None) -> builtins.list[Team]:
        """The organization's groups by name; `pattern` matches part of the name or display name
        (case-insensitive, `%` matches any text)."""
        _require_reader(principal, "groups")
        stmt = select(Team).where(Team.org_id == principal.org_id)
        if pattern:
            like = "%" + pattern.replace("\\", "\\\\").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(
                    func.lower(Team.name).like(like.lower(), escape="\\"),
                    func.lower(Team.display_name).like(like.lower(), escape="\\"),
                )
            )
        with self.db.session() as s:
            return builtins.list(s.scalars(stmt.order_by(Team.name, Team.id)))

    def get(self, principal: Principal, team_id: int) -> Team:
        """One group of the organization."""
        _require_reader(principal, f"group {team_id}")
        with self.db.session() as s:
            return _group(s, principal, team_id)

    def find(self, principal: Principal, identifier: str) -> Team:
        """A group by UUID, numeric id or name (tried in that order)."""
        _require_reader(principal, f"group {identifier}")
        text = str(identifier).strip()
        candidates = [Team.name == text]
        if text.isdecimal():
            candidates.insert(0, Team.id == int(text))
        with contextlib.suppress(ValueError):
            candidates.insert(0, Team.uuid == uuid.UUID(text))
        with self.db.session() as s:
            for condition in candidates:
                found = s.scalar(select(Team).where(Team.org_id == principal.org_id, condition))
                if found is not None:
                    return found
        raise NotFoundError("group", identifier)

    def create(
        self,
        principal: Principal,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        privileges: Iterable[object] = (),
        visibility: str = "DEFAULT",
    ) -> Team:
        """A new group (admins); the caller is its author."""
        principal.require(Action.MANAGE_USERS, "groups")
        checked_privileges, checked_visibility = parse_privileges(privileges), _visibility(visibility)
        with self.db.session() as s:
            team = self.teams.insert(s, principal.org_id, name=name, description=description)
            team.display_name = display_name
            team.privileges = checked_privileges
            team.visibility = checked_visibility
            team.author_id = principal.user_id
            s.flush()
            return team

    def update(
        self,
        principal: Principal,
        team_id: int,
        *,
        name: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        privileges: Iterable[object] | None = None,
        visibility: str | None = None,
    ) -> Team:
        """Change what is given of a group (admins); `privileges` replaces the list."""
        principal.require(Action.MANAGE_USERS, f"group {team_id}")
        with self.db.session() as s:
            team = _group(s, principal, team_id)
            if privileges is not None:
                team.privileges = parse_privileges(privileges)
            if visibility is not None:
                team.visibility = _visibility(visibility)
            if name is not None:
                self.teams.rename(s, team, name)
            if display_name is not None:
                team.display_name = display_name
            if description is not None:
                team.description = description
            s.flush()
            return team

    def delete(self, principal: Principal, team_id: int) -> None:
        """Delete a group with its nesting and its shares; its members stay users (admins)."""
        principal.require(Action.MANAGE_USERS, f"group {team_id}")
        with self.db.session() as s:
            self.teams.remove(s, _group(s, principal, team_id))

    def add_privilege(self, principal: Principal, team_ids: Iterable[int], privilege: str) -> None:
        """Give a privilege to each of the groups (admins; all of them exist or nothing changes)."""
        self._change_privilege(principal, team_ids, privilege, add=True)

    def remove_privilege(self, principal: Principal, team_ids: Iterable[int], privilege: str) -> None:
        """Take a privilege from each of the groups (admins; one without it is left as it is)."""
        self._change_privilege(principal, team_ids, privilege, add=False)

    def _change_privilege(
        self, principal: Principal, team_ids: Iterable[int], privilege: str, *, add: bool
    ) -> None:
        principal.require(Action.MANAGE_USERS, "groups")
        (name,) = parse_privileges([privilege], "privilege")
        with self.db.session() as s:
            for team in _groups(s, principal, team_ids):
                held = set(team.privileges or [])
                team.privileges = sorted(held | {name} if add else held - {name})

    # ----- members -----------------------------------------------------------------------------
    def members(self, principal: Principal, team_id: int) -> builtins.list[User]:
        """The group's direct members, by id."""
        _require_reader(principal, f"group {team_id}")
        with self.db.session() as s:
            _group(s, principal, team_id)
            stmt = (
                select(User)
                .join(TeamMember, TeamMember.user_id == User.id)
                .where(TeamMember.team_id == team_id)
                .order_by(User.id)
            )
            return builtins.list(s.scalars(stmt))

    def set_members(
        self, principal: Principal, team_id: int, user_ids: Iterable[int], operation: str = "REPLACE"
    ) -> None:
        """Add, remove or replace the group's direct members (admins)."""
        principal.require(Action.MANAGE_USERS, f"group {team_id}")
        with self.db.session() as s:
            self.teams.change_members(s, _group(s, principal, team_id), user_ids, operation)

    def member_groups(self, principal: Principal, team_id: int) -> builtins.list[Team]:
        """The groups directly inside this one, by name."""
        _require_reader(principal, f"group {team_id}")
        with self.db.session() as s:
            _group(s, principal, team_id)
            stmt = select(Team).join(TeamNesting, TeamNesting.member_team_id == Team.id)
            return builtins.list(
                s.scalars(stmt.where(TeamNesting.team_id == team_id).order_by(Team.name, Team.id))
            )

    def parent_groups(self, principal: Principal, team_id: int) -> builtins.list[Team]:
        """The groups this one is directly inside, by name."""
        _require_reader(principal, f"group {team_id}")
        with self.db.session() as s:
            _group(s, principal, team_id)
            stmt = select(Team).join(TeamNesting, TeamNesting.team_id == Team.id)
            stmt = stmt.where(TeamNesting.member_team_id == team_id)
            return builtins.list(s.scalars(stmt.order_by(Team.name, Team.id)))

    def set_member_groups(
        self, principal: Principal, team_id: int, member_team_ids: Iterable[int], operation: str = "REPLACE"
    ) -> None:
        """Add, remove or replace the groups directly inside this one (admins); a cycle is refused."""
        principal.require(Action.MANAGE_USERS, f"group {team_id}")
        operation = check_operation(operation)
        wanted = set(member_team_ids)
        with self.db.session() as s:
            # Nesting changes of one organization take turns: two concurrent ones could each pass the
            # cycle check and together make a cycle. A no-op write to the organization's row holds
            # its row lock (PostgreSQL) or the database's write lock (SQLite) until the commit.
            s.execute(
                update(Organization).where(Organization.id == principal.org_id).values(id=Organization.id)
            )
            _group(s, principal, team_id)
            if operation != "REMOVE":
                _groups(s, principal, wanted)
                for member_id in sorted(wanted):
                    # Inside `team_id` would make a cycle if `team_id` is `member_id` or inside it.
                    if team_id in contained_team_ids(s, [member_id]):
                        raise InvalidInputError(
                            "member_groups",
                            f"group {member_id} contains group {team_id}: that would be a cycle",
                        )
            current = set(s.scalars(select(TeamNesting.member_team_id).where(TeamNesting.team_id == team_id)))
            removed, added = membership_changes(current, wanted, operation)
            if removed:
                s.execute(
                    delete(TeamNesting).where(
                        TeamNesting.team_id == team_id, TeamNesting.member_team_id.in_(removed)
                    )
                )
            s.add_all(TeamNesting(team_id=team_id, member_team_id=m) for m in sorted(added))

    # ----- users -------------------------------------------------------------------------------
    def user_groups(self, principal: Principal, user_id: int) -> builtins.list[Team]:
        """The groups a user of the organization is directly in, by name."""
        _require_reader(principal, f"groups of user {user_id}")
        with self.db.session() as s:
            _user(s, principal, user_id)
            stmt = select(Team).join(TeamMember, TeamMember.team_id == Team.id)
            stmt = stmt.where(Team.org_id == principal.org_id, TeamMember.user_id == user_id)
            return builtins.list(s.scalars(stmt.order_by(Team.name, Team.id)))

    def inherited_groups(self, principal: Principal, user_id: int) -> builtins.list[Team]:
        """The groups a user is in only through nesting (effective minus direct), by name."""
        _require_reader(principal, f"groups of user {user_id}")
        with self.db.session() as s:
            _user(s, principal, user_id)
            effective = effective_team_ids(s, principal.org_id, user_id)
            direct = set(s.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))
            stmt = select(Team).where(Team.id.in_(effective - direct)).order_by(Team.name, Team.id)
            return builtins.list(s.scalars(stmt))

    def set_user_groups(
        self, principal: Principal, user_id: int, team_ids: Iterable[int], operation: str = "REPLACE"
    ) -> None:
        """Add the user to, remove them from, or make them the direct member of exactly, groups (admins)."""
        principal.require(Action.MANAGE_USERS, f"groups of user {user_id}")
        operation = check_operation(operation)
        wanted = set(team_ids)
        with self.db.session() as s:
            _user(s, principal, user_id)
            if operation != "REMOVE":
                _groups(s, principal, wanted)
            current = set(
                s.scalars(
                    select(TeamMember.team_id)
                    .join(Team, Team.id == TeamMember.team_id)
                    .where(TeamMember.user_id == user_id, Team.org_id == principal.org_id)
                )
            )
            removed, added = membership_changes(current, wanted, operation)
            if removed:
                s.execute(
                    delete(TeamMember).where(TeamMember.user_id == user_id, TeamMember.team_id.in_(removed))
                )
            s.add_all(TeamMember(team_id=t, user_id=user_id) for t in sorted(added))

    def effective_privileges(self, principal: Principal, user_id: int) -> builtins.list[str]:
        """A user's privileges: those their role implies and those of their effective groups, sorted."""
        _require_reader(principal, f"privileges of user {user_id}")
        with self.db.session() as s:
            user = _user(s, principal, user_id)
            held: set[Privilege] = set(ROLE_PRIVILEGES[Role(user.role)])
            held |= team_privileges(s, effective_team_ids(s, principal.org_id, user_id))
        return sorted(p.value for p in held)


def _require_reader(principal: Principal, resource: str) -> None:
    principal.require(Action.READ, resource)
    if principal.is_query_key:
        raise PermissionDeniedError("read", resource)


def _group(s: Session, principal: Principal, team_id: int) -> Team:
    team = s.get(Team, team_id)
    if team is None or team.org_id != principal.org_id:
        raise NotFoundError("group", team_id)
    return team


def _groups(s: Session, principal: Principal, team_ids: Iterable[int]) -> builtins.list[Team]:
    """The groups of `team_ids`, all of the organization (NotFoundError naming the first missing)."""
    wanted = set(team_ids)
    found = builtins.list(s.scalars(select(Team).where(Team.org_id == principal.org_id, Team.id.in_(wanted))))
    missing = wanted - {t.id for t in found}
    if missing:
        raise NotFoundError("group", min(missing))
    return found


def _user(s: Session, principal: Principal, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None or user.org_id != principal.org_id:
        raise NotFoundError("user", user_id)
    return user


def _visibility(value: str) -> str:
    visibility = value.strip().upper() if isinstance(value, str) else value
    if visibility == "SHARABLE":
        return "DEFAULT"
    if visibility not in VISIBILITIES:
        raise InvalidInputError("visibility", "DEFAULT or NON_SHARABLE")
    return str(visibility)
