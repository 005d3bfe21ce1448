"""Groups: privileges, members, nested groups; a user's groups and privileges (docs/governance.md)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from openlytics.api import serializers as ser
from openlytics.api import serializers_governance as gser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body

router = APIRouter(tags=["groups"])

Operation = Literal["ADD", "REMOVE", "REPLACE"]
Visibility = Literal["DEFAULT", "NON_SHARABLE"]


class GroupChangesBody(Body):
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    privileges: list[str] | None = None
    visibility: Visibility | None = None


class NewGroupBody(Body):
    name: str
    display_name: str | None = None
    description: str | None = None
    privileges: list[str] = []
    visibility: Visibility = "DEFAULT"


class MembersBody(Body):
    user_ids: list[int]
    operation: Operation = "REPLACE"


class GroupIdsBody(Body):
    group_ids: list[int]
    operation: Operation = "REPLACE"


class PrivilegesBody(Body):
    privileges: list[str]
    operation: Operation = "REPLACE"


@router.get("/groups")
def list_groups(app: App, principal: CurrentPrincipal, pattern: str | None = None) -> dict[str, Any]:
    """The organization's groups by name; `pattern` matches part of the name or display name."""
    return gser.groups(app.groups.list(principal, pattern=pattern))


@router.post("/groups", status_code=201)
def create_group(body: NewGroupBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new group (admins); the caller is its author."""
    fields = body.model_dump()
    return gser.group(app.groups.create(principal, fields.pop("name"), **fields))


@router.get("/groups/{group_id}")
def get_group(group_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One group."""
    return gser.group(app.groups.get(principal, group_id))


@router.patch("/groups/{group_id}")
def update_group(
    group_id: int, body: GroupChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Change a group's names, description, privileges (the whole list) or visibility (admins)."""
    return gser.group(app.groups.update(principal, group_id, **body.model_dump(exclude_unset=True)))


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a group with its nesting and its shares; its members stay users (admins)."""
    app.groups.delete(principal, group_id)
    return Response(status_code=204)


@router.get("/groups/{group_id}/members")
def list_members(group_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The group's direct members."""
    return {"items": [ser.user(u) for u in app.groups.members(principal, group_id)]}


@router.put("/groups/{group_id}/members", status_code=204)
def set_members(group_id: int, body: MembersBody, app: App, principal: CurrentPrincipal) -> Response:
    """Add, remove or replace (the default) the group's direct members (admins)."""
    app.groups.set_members(principal, group_id, body.user_ids, body.operation)
    return Response(status_code=204)


@router.get("/groups/{group_id}/groups")
def list_member_groups(group_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The groups directly inside this one: their members are members of this group too."""
    return gser.groups(app.groups.member_groups(principal, group_id))


@router.put("/groups/{group_id}/groups", status_code=204)
def set_member_groups(group_id: int, body: GroupIdsBody, app: App, principal: CurrentPrincipal) -> Response:
    """Add, remove or replace the groups inside this one (admins); a cycle is refused (422)."""
    app.groups.set_member_groups(principal, group_id, body.group_ids, body.operation)
    return Response(status_code=204)


@router.get("/groups/{group_id}/parents")
def list_parent_groups(group_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The groups this one is directly inside."""
    return gser.groups(app.groups.parent_groups(principal, group_id))


@router.get("/groups/{group_id}/privileges")
def get_privileges(group_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The privileges the group gives its members."""
    return {"privileges": list(app.groups.get(principal, group_id).privileges or [])}


@router.put("/groups/{group_id}/privileges")
def set_privileges(
    group_id: int, body: PrivilegesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Add, remove or replace the group's privileges (admins); answers the group."""
    if body.operation == "REPLACE":
        return gser.group(app.groups.update(principal, group_id, privileges=body.privileges))
    change = app.groups.add_privilege if body.operation == "ADD" else app.groups.remove_privilege
    for privilege in body.privileges:
        change(principal, [group_id], privilege)
    return gser.group(app.groups.get(principal, group_id))


@router.get("/users/{user_id}/groups")
def list_user_groups(user_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The groups a user is directly in (`items`) and those they are in through nesting (`inherited`)."""
    direct = app.groups.user_groups(principal, user_id)
    inherited = app.groups.inherited_groups(principal, user_id)
    return {**gser.groups(direct), "inherited": [gser.group(t) for t in inherited]}


@router.put("/users/{user_id}/groups", status_code=204)
def set_user_groups(user_id: int, body: GroupIdsBody, app: App, principal: CurrentPrincipal) -> Response:
    """Add the user to, remove them from, or make them a direct member of exactly, these groups (admins)."""
    app.groups.set_user_groups(principal, user_id, body.group_ids, body.operation)
    return Response(status_code=204)


@router.get("/users/{user_id}/privileges")
def user_privileges(user_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A user's effective privileges: those their role implies and those of their groups."""
    return {"privileges": app.groups.effective_privileges(principal, user_id)}
