"""Teams: groups of users whose parameters limit the dataset rows their members read.

A team belongs to one organization and has a name (unique in it), a description, members (users
of the same organization) and parameters: `{parameter name: [allowed values]}`, values being JSON
scalars. Admins (`Action.MANAGE_USERS`) manage teams; everyone who may read sees them.

Row filtering (`TeamService.row_filters`, installed as `DatasetService.row_filters` and used by the
structured queries too) follows these rules:

- Admins, superadmins, the server itself (the system principal) and users granted
  `Action.BYPASS_ROW_FILTERS` (a group's `BYPASSRLS` privilege) read every row.
- Principals without a user (public links, query keys, push tokens) get no team filter: what they
  may reach is decided by their own scope.
- Any other user reads only the rows allowed by the parameters of every team they belong to,
  directly or through nesting (core/governance): for each parameter whose name is a column of the
  dataset, rows whose column holds one of the values (`Condition(name, "in", values)`); conditions
  on different columns are ANDed.
- When several of the user's teams set the same parameter, the allowed values are their union.
- A parameter naming no column of the dataset does not filter that dataset. A user in no team, or
  in teams without parameters, reads every row.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlytics.core.datasets.structured_model import Condition
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.core.governance.privileges import effective_team_ids
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import Dataset, Share, Team, TeamMember, TeamNesting, User

JSON_SCALARS = (str, int, float, bool)
# How a list of members (or groups) changes the current one.
OPERATIONS = ("ADD", "REMOVE", "REPLACE")


class TeamService:
    """Teams of an organization, their members and their row-filtering parameters."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ----- teams -------------------------------------------------------------------------------
    def list(self, principal: Principal) -> builtins.list[Team]:
        """The organization's teams, by name."""
        principal.require(Action.READ, "teams")
        with self.db.session() as s:
            return builtins.list(
                s.scalars(select(Team).where(Team.org_id == principal.org_id).order_by(Team.name, Team.id))
            )

    def get(self, principal: Principal, team_id: int) -> Team:
        """One team of the organization."""
        principal.require(Action.READ, f"team {team_id}")
        with self.db.session() as s:
            return self._team(s, principal, team_id)

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        description: str | None = None,
        parameters: dict[str, builtins.list[Any]] | None = None,
    ) -> Team:
        """A new team (admins); `parameters` maps parameter names to allowed values."""
        principal.require(Action.MANAGE_USERS, "teams")
        with self.db.session() as s:
            return self.insert(s, principal.org_id, name=name, description=description, parameters=parameters)

    def update(
        self, principal: Principal, team_id: int, *, name: str | None = None, description: str | None = None
    ) -> Team:
        """Rename a team or change its description (admins)."""
        principal.require(Action.MANAGE_USERS, f"team {team_id}")
        with self.db.session() as s:
            team = self._team(s, principal, team_id)
            if name is not None:
                self.rename(s, team, name)
            if description is not None:
                team.description = description
            s.flush()
            return team

    def delete(self, principal: Principal, team_id: int) -> None:
        """Delete a team with its nesting and what was shared with it; its members stay users (admins)."""
        principal.require(Action.MANAGE_USERS, f"team {team_id}")
        with self.db.session() as s:
            self.remove(s, self._team(s, principal, team_id))

    # ----- members -----------------------------------------------------------------------------
    def members(self, principal: Principal, team_id: int) -> builtins.list[User]:
        """The team's members, by id."""
        principal.require(Action.READ, f"team {team_id}")
        with self.db.session() as s:
            self._team(s, principal, team_id)
            stmt = (
                select(User)
                .join(TeamMember, TeamMember.user_id == User.id)
                .where(TeamMember.team_id == team_id)
                .order_by(User.id)
            )
            return builtins.list(s.scalars(stmt))

    def member_ids(self, principal: Principal, team_ids: Iterable[int]) -> dict[int, builtins.list[int]]:
        """The member user ids of each of `team_ids` (teams of the organization only)."""
        principal.require(Action.READ, "teams")
        ids = builtins.list(team_ids)
        found: dict[int, builtins.list[int]] = {i: [] for i in ids}
        if not ids:
            return found
        with self.db.session() as s:
            rows = s.execute(
                select(TeamMember.team_id, TeamMember.user_id)
                .join(Team, Team.id == TeamMember.team_id)
                .where(Team.org_id == principal.org_id, TeamMember.team_id.in_(ids))
                .order_by(TeamMember.team_id, TeamMember.user_id)
            )
            for team_id, user_id in rows:
                found[team_id].append(user_id)
        return found

    def add_member(self, principal: Principal, team_id: int, user_id: int) -> None:
        """Add a user of the organization to the team (admins); adding a member again is a no-op."""
        principal.require(Action.MANAGE_USERS, f"team {team_id}")
        with self.db.session() as s:
            self.change_members(s, self._team(s, principal, team_id), [user_id], "ADD")

    def remove_member(self, principal: Principal, team_id: int, user_id: int) -> None:
        """Take a user out of the team (admins); NotFoundError when they are not a member."""
        principal.require(Action.MANAGE_USERS, f"team {team_id}")
        with self.db.session() as s:
            self._team(s, principal, team_id)
            removed = s.execute(
                delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
            )
            if not getattr(removed, "rowcount", 0):
                raise NotFoundError("team member", user_id)

    def teams_of(self, principal: Principal, user_id: int) -> builtins.list[Team]:
        """The teams a user of the organization belongs to, by name."""
        principal.require(Action.READ, f"teams of user {user_id}")
        with self.db.session() as s:
            return self._teams_of(s, principal.org_id, user_id)

    # ----- parameters --------------------------------------------------------------------------
    def set_parameter(self, principal: Principal, team_id: int, name: str, values: Any) -> Team:
        """Set a parameter's allowed values (a non-empty list of JSON scalars, or one scalar)."""
        principal.require(Action.MANAGE_USERS, f"team {team_id}")
        name, checked = _parameter_name(name), _values(values)
        with self.db.session() as s:
            team = self._team(s, principal, team_id)
            team.parameters = {**(team.parameters or {}), name: checked}
            s.flush()
            return team

    def remove_parameter(self, principal: Principal, team_id: int, name: str) -> Team:
        """Remove a parameter (admins); NotFoundError when the team does not have it."""
        principal.require(Action.MANAGE_USERS, f"team {team_id}")
        with self.db.session() as s:
            team = self._team(s, principal, team_id)
            parameters = dict(team.parameters or {})
            if name not in parameters:
                raise NotFoundError("team parameter", name)
            del parameters[name]
            team.parameters = parameters
            s.flush()
            return team

    # ----- row filtering -----------------------------------------------------------------------
    def row_filters(self, principal: Principal, dataset: Dataset) -> builtins.list[Condition]:
        """The conditions limiting the rows of `dataset` that `principal` reads (see the module doc)."""
        if principal.user_id is None or principal.is_superadmin or principal.can(Action.BYPASS_ROW_FILTERS):
            return []
        columns = {str(c["name"]) for c in dataset.columns or []}
        allowed: dict[str, builtins.list[Any]] = {}
        with self.db.session() as s:
            team_ids = effective_team_ids(s, principal.org_id, principal.user_id)
            teams = builtins.list(
                s.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.name, Team.id))
            )
        for team in teams:
            for name, values in (team.parameters or {}).items():
                if name in columns:
                    merged = allowed.setdefault(name, [])
                    merged.extend(v for v in _as_list(values) if not _contains(merged, v))
        return [Condition(name, "in", tuple(values)) for name, values in sorted(allowed.items())]

    # ----- in an open session (GroupService builds on these) ------------------------------------
    def insert(
        self,
        s: Session,
        org_id: int,
        *,
        name: str,
        description: str | None = None,
        parameters: dict[str, builtins.list[Any]] | None = None,
    ) -> Team:
        """Add a team row: the name checked and unique in the organization, the parameters checked."""
        name = _name(name)
        checked = {_parameter_name(k): _values(v) for k, v in (parameters or {}).items()}
        self._check_unique(s, org_id, name)
        team = Team(org_id=org_id, name=name, description=description, parameters=checked)
        s.add(team)
        s.flush()
        return team

    def rename(self, s: Session, team: Team, name: str) -> None:
        """Give a team a new name, unique in its organization."""
        name = _name(name)
        if name != team.name:
            self._check_unique(s, team.org_id, name)
        team.name = name

    def change_members(self, s: Session, team: Team, user_ids: Iterable[int], operation: str = "ADD") -> None:
        """ADD, REMOVE or REPLACE direct members (users of the team's organization; else NotFoundError)."""
        operation = check_operation(operation)
        wanted = set(user_ids)
        known = set(s.scalars(select(User.id).where(User.org_id == team.org_id, User.id.in_(wanted))))
        if operation != "REMOVE" and wanted - known:
            raise NotFoundError("user", min(wanted - known))
        current = set(s.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
        removed, added = membership_changes(current, wanted, operation)
        if removed:
            s.execute(
                delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id.in_(removed))
            )
        s.add_all(TeamMember(team_id=team.id, user_id=user_id) for user_id in sorted(added))
        s.flush()

    def remove(self, s: Session, team: Team) -> None:
        """Delete a team row with its memberships, its nesting both ways and its shares."""
        s.execute(delete(Share).where(Share.principal_kind == "team", Share.principal_id == team.id))
        s.execute(
            delete(TeamNesting).where(
                (TeamNesting.team_id == team.id) | (TeamNesting.member_team_id == team.id)
            )
        )
        s.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
        s.delete(team)
        s.flush()

    # ----- helpers -----------------------------------------------------------------------------
    def _team(self, s: Session, principal: Principal, team_id: int) -> Team:
        team = s.get(Team, team_id)
        if team is None or team.org_id != principal.org_id:
            raise NotFoundError("team", team_id)
        return team

    def _teams_of(self, s: Session, org_id: int, user_id: int) -> builtins.list[Team]:
        stmt = (
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(Team.org_id == org_id, TeamMember.user_id == user_id)
            .order_by(Team.name, Team.id)
        )
        return builtins.list(s.scalars(stmt))

    def _check_unique(self, s: Session, org_id: int, name: str) -> None:
        if s.scalar(select(Team.id).where(Team.org_id == org_id, Team.name == name)) is not None:
            raise ConflictError(f"a team named {name!r} exists", field="name")


def check_operation(value: str) -> str:
    """A membership operation, upper-cased: ADD, REMOVE or REPLACE (InvalidInputError otherwise)."""
    operation = value.upper() if isinstance(value, str) else value
    if operation not in OPERATIONS:
        raise InvalidInputError("operation", "one of ADD, REMOVE, REPLACE")
    return str(operation)


def membership_changes(current: set[int], wanted: set[int], operation: str) -> tuple[set[int], set[int]]:
    """(ids to remove, ids to add) for applying `operation` with `wanted` to the `current` ids."""
    if operation == "REPLACE":
        return current - wanted, wanted - current
    if operation == "ADD":
        return set(), wanted - current
    return current & wanted, set()


def _name(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("name", "must not be empty")
    return value.strip()


def _parameter_name(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("parameter", "the name must not be empty")
    return value


def _values(values: Any) -> builtins.list[Any]:
    """A non-empty list of JSON scalars without duplicates; a single scalar becomes a list of one."""
    if isinstance(values, JSON_SCALARS):
        values = [values]
    if not isinstance(values, builtins.list | tuple) or not values:
        raise InvalidInputError("values", "a non-empty list of values")
    checked: builtins.list[Any] = []
    for value in values:
        if not isinstance(value, JSON_SCALARS):
            raise InvalidInputError("values", f"{value!r} is not a string, number or boolean")
        if not _contains(checked, value):
            checked.append(value)
    return checked


def _as_list(values: Any) -> builtins.list[Any]:
    return builtins.list(values) if isinstance(values, builtins.list | tuple) else [values]


def _contains(values: builtins.list[Any], value: Any) -> bool:
    # 1 == True in Python; a team allowing 1 does not allow true.
    return any(type(v) is type(value) and v == value for v in values)
