"""Users and groups as ThoughtSpot names them (GUID, or name), and their wire objects."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Request

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Principal
from openlytics.dialects.bodies import json_object
from openlytics.dialects.thoughtspot import wire
from openlytics.store.models import Organization, Team, User

MAX_JSON_BYTES = 20 * 1024 * 1024
OPERATIONS = ("ADD", "REMOVE", "REPLACE")


async def json_body(request: Request) -> dict[str, Any]:
    """A V2 body: a JSON object ({} when empty)."""
    return await json_object(request, max_bytes=MAX_JSON_BYTES)


Body = Annotated[dict[str, Any], Depends(json_body)]


# ----- lookups ----------------------------------------------------------------------------------
def all_users(app: Openlytics, caller: Principal) -> list[User]:
    """Every user of the caller's organization."""
    return all_pages(lambda page, size: app.identity.list_users(caller, page=page, per_page=size))


def find_user(app: Openlytics, caller: Principal, identifier: str, users: list[User] | None = None) -> User:
    """A user of the organization by GUID, name (e-mail, any case) or numeric id."""
    wanted = str(identifier).strip().lower()
    for user in users if users is not None else all_users(app, caller):
        if wanted in (str(user.uuid), user.email, str(user.id)):
            return user
    raise NotFoundError("user", identifier)


def find_users(app: Openlytics, caller: Principal, identifiers: Iterable[str]) -> list[User]:
    """Users by GUID or name, all of the organization (NotFoundError naming the first missing)."""
    users = all_users(app, caller)
    return [find_user(app, caller, identifier, users) for identifier in identifiers]


def find_groups(app: Openlytics, caller: Principal, identifiers: Iterable[str]) -> list[Team]:
    """Groups by GUID or name, all of the organization."""
    return [app.groups.find(caller, identifier) for identifier in identifiers]


def operation(value: Any, field: str = "operation") -> str:
    """`ADD`, `REMOVE` or `REPLACE` (the default)."""
    if value is None:
        return "REPLACE"
    if not isinstance(value, str) or value.strip().upper() not in OPERATIONS:
        raise InvalidInputError(field, "ADD, REMOVE or REPLACE")
    return value.strip().upper()


def identifiers(body: dict[str, Any], field: str) -> list[str] | None:
    """A list of GUIDs or names in a JSON body (None when absent)."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InvalidInputError(field, "a list of GUIDs or names")
    return [str(v) for v in value]


# ----- wire objects -----------------------------------------------------------------------------
def user_object(app: Openlytics, caller: Principal, user: User) -> dict[str, Any]:
    """The V1 user object, with the user's effective privileges and groups."""
    return wire.user_object(
        user,
        privileges=app.groups.effective_privileges(caller, user.id),
        assigned=app.groups.user_groups(caller, user.id),
        inherited=app.groups.inherited_groups(caller, user.id),
    )


def user_v2(app: Openlytics, caller: Principal, user: User, org: Organization) -> dict[str, Any]:
    """The V2 user object."""
    return wire.user_v2(
        user,
        org,
        privileges=app.groups.effective_privileges(caller, user.id),
        groups=app.groups.user_groups(caller, user.id),
        inherited=app.groups.inherited_groups(caller, user.id),
    )


def group_object(app: Openlytics, caller: Principal, team: Team) -> dict[str, Any]:
    """The V1 group object: its author, the groups it is directly in, and those above them."""
    parents = app.groups.parent_groups(caller, team.id)
    seen = {team.id, *(p.id for p in parents)}
    ancestors: list[Team] = []
    frontier = parents
    while frontier:
        above = [g for p in frontier for g in app.groups.parent_groups(caller, p.id) if g.id not in seen]
        seen.update(g.id for g in above)
        ancestors.extend(above)
        frontier = above
    return wire.group_object(team, author=author_of(app, caller, team), parents=parents, ancestors=ancestors)


def group_header(app: Openlytics, caller: Principal, team: Team) -> dict[str, Any]:
    """A group's header with its author's names."""
    return wire.group_header(team, author_of(app, caller, team))


def author_of(app: Openlytics, caller: Principal, team: Team) -> User | None:
    """Who created a group (None when unknown or since deleted)."""
    if team.author_id is None:
        return None
    with contextlib.suppress(NotFoundError):
        return app.identity.get_user(caller, team.author_id)
    return None
