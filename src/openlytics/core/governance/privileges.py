"""Privileges: what a group adds to the role of its members (docs/governance.md).

A user holds the privileges of every group they are in, directly or through nesting (their
*effective groups*); `granted_actions` turns those privileges into the `Action`s added to the
user's principal when they authenticate.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import ROLE_ACTIONS, Action, Role
from openlytics.store.models import Team, TeamMember, TeamNesting


class Privilege(StrEnum):
    """Privilege names, as the native API and the dialects spell them."""

    AUTHORING = "AUTHORING"
    ADMINISTRATION = "ADMINISTRATION"
    USERDATAUPLOADING = "USERDATAUPLOADING"
    DATADOWNLOADING = "DATADOWNLOADING"
    DATAMANAGEMENT = "DATAMANAGEMENT"
    SHAREWITHALL = "SHAREWITHALL"
    A3ANALYSIS = "A3ANALYSIS"
    EXPERIMENTALFEATUREPRIVILEG = "EXPERIMENTALFEATUREPRIVILEG"
    BYPASSRLS = "BYPASSRLS"
    RANALYSIS = "RANALYSIS"
    DISABLE_PINBOARD_CREATION = "DISABLE_PINBOARD_CREATION"
    JOBSCHEDULING = "JOBSCHEDULING"


# Privileges missing here are stored and reported; no action of this server depends on them yet.
PRIVILEGE_ACTIONS: dict[Privilege, frozenset[Action]] = {
    Privilege.AUTHORING: frozenset(),
    Privilege.ADMINISTRATION: ROLE_ACTIONS[Role.ADMIN],
    Privilege.DATAMANAGEMENT: frozenset(
        {Action.MANAGE_SOURCES, Action.WRITE, Action.RUN_ADHOC, Action.PUSH_ROWS}
    ),
    Privilege.USERDATAUPLOADING: frozenset({Action.PUSH_ROWS}),
    Privilege.BYPASSRLS: frozenset({Action.BYPASS_ROW_FILTERS}),
}

# What each role implies, for reporting (a role's actions come from ROLE_ACTIONS, not from these).
ROLE_PRIVILEGES: dict[Role, frozenset[Privilege]] = {
    Role.ADMIN: frozenset(
        {
            Privilege.ADMINISTRATION,
            Privilege.DATAMANAGEMENT,
            Privilege.USERDATAUPLOADING,
            Privilege.DATADOWNLOADING,
            Privilege.AUTHORING,
        }
    ),
    Role.EDITOR: frozenset({Privilege.AUTHORING, Privilege.DATADOWNLOADING, Privilege.USERDATAUPLOADING}),
    Role.VIEWER: frozenset({Privilege.AUTHORING, Privilege.DATADOWNLOADING}),
}


def parse_privileges(values: Iterable[object], field: str = "privileges") -> list[str]:
    """Privilege names, sorted and unique; InvalidInputError naming the first unknown one."""
    if isinstance(values, str | bytes):
        raise InvalidInputError(field, "a list of privilege names")
    names: set[str] = set()
    for value in values:
        name = value.strip().upper() if isinstance(value, str) else value
        if not isinstance(name, str) or name not in Privilege.__members__:
            raise InvalidInputError(field, f"unknown privilege {value!r}")
        names.add(name)
    return sorted(names)


def effective_team_ids(s: Session, org_id: int, user_id: int) -> frozenset[int]:
    """The groups a user is in: directly, and every group containing one of those (any depth)."""
    direct = (
        select(TeamMember.team_id.label("id"))
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id == user_id, Team.org_id == org_id)
        .cte("effective", recursive=True)
    )
    # UNION (not UNION ALL) drops rows already found, so even a cycle would end.
    parents = select(TeamNesting.team_id).join(direct, TeamNesting.member_team_id == direct.c.id)
    effective = direct.union(parents)
    return frozenset(s.scalars(select(effective.c.id)))


def contained_team_ids(s: Session, team_ids: Iterable[int]) -> frozenset[int]:
    """`team_ids` and every group nested in one of them (any depth): whose members they reach."""
    return _closure(s, team_ids, TeamNesting.team_id, TeamNesting.member_team_id)


def containing_team_ids(s: Session, team_ids: Iterable[int]) -> frozenset[int]:
    """`team_ids` and every group that contains one of them (any depth)."""
    return _closure(s, team_ids, TeamNesting.member_team_id, TeamNesting.team_id)


def _closure(s: Session, team_ids: Iterable[int], start_side: Any, reached_side: Any) -> frozenset[int]:
    """Follow nesting rows from `start_side` to `reached_side` until nothing new is reached."""
    found = set(team_ids)
    frontier = set(found)
    while frontier:
        rows = s.scalars(select(reached_side).where(start_side.in_(frontier)))
        frontier = set(rows) - found
        found |= frontier
    return frozenset(found)


def team_privileges(s: Session, team_ids: Iterable[int]) -> frozenset[Privilege]:
    """The privileges the given groups hold (names no longer known are ignored)."""
    ids = list(team_ids)
    if not ids:
        return frozenset()
    held: set[Privilege] = set()
    for stored in s.scalars(select(Team.privileges).where(Team.id.in_(ids))):
        held.update(Privilege(name) for name in stored or [] if name in Privilege.__members__)
    return frozenset(held)


def granted_actions(s: Session, team_ids: Iterable[int]) -> frozenset[Action]:
    """The actions the privileges of the given groups add to a role."""
    actions: set[Action] = set()
    for privilege in team_privileges(s, team_ids):
        actions |= PRIVILEGE_ACTIONS.get(privilege, frozenset())
    return frozenset(actions)
