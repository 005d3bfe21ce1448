"""V1 groups: list, create, delete, members (users) and member groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal
from openlytics.dialects.thoughtspot import wire
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V1
from openlytics.dialects.thoughtspot.forms import Form, json_strings, json_value, text
from openlytics.dialects.thoughtspot.routes.common import (
    find_groups,
    find_users,
    group_header,
    group_object,
    user_object,
)

router = APIRouter()
GROUP_TYPES = ("LOCAL_GROUP",)


@router.get(f"{V1}/group")
@router.get(f"{V1}/group/")
def group_get(request: Request, caller: Caller) -> Any:
    """`groupid` and/or `name` -> that group's object; neither -> every group's."""
    app = app_of(request)
    wanted = request.query_params.get("groupid") or request.query_params.get("name")
    if wanted:
        return group_object(app, caller, app.groups.find(caller, wanted))
    return [group_object(app, caller, team) for team in app.groups.list(caller)]


@router.post(f"{V1}/group")
@router.post(f"{V1}/group/")
def group_post(request: Request, caller: Caller, form: Form) -> dict[str, Any]:
    """A new group; the answer carries its header as both `header` and `headers`."""
    group_type = (form.get("grouptype") or "LOCAL_GROUP").strip().upper()
    if group_type not in GROUP_TYPES:
        raise InvalidInputError("grouptype", "LOCAL_GROUP (the only kind of group here)")
    privileges = json_value(form["privileges"], "privileges") if form.get("privileges") else []
    if not isinstance(privileges, list):
        raise InvalidInputError("privileges", 'a JSON list such as ["DATADOWNLOADING"]')
    app = app_of(request)
    team = app.groups.create(
        caller,
        text(form, "name"),
        display_name=form.get("display_name") or None,
        description=form.get("description") or None,
        privileges=privileges,
        visibility=form.get("visibility") or "DEFAULT",
    )
    created = group_object(app, caller, team)
    created["headers"] = created["header"]
    return created


@router.delete(f"{V1}/group/{{group_guid}}")
def group_delete(group_guid: str, request: Request, caller: Caller) -> Response:
    """Delete a group (its members stay users) -> 204."""
    app = app_of(request)
    app.groups.delete(caller, app.groups.find(caller, group_guid).id)
    return Response(status_code=204)


@router.get(f"{V1}/group/{{group_guid}}/users")
@router.get(f"{V1}/group/{{group_guid}}/users/")
def group_users_get(group_guid: str, request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The headers of the group's direct members."""
    app = app_of(request)
    team = app.groups.find(caller, group_guid)
    return [wire.user_header(user) for user in app.groups.members(caller, team.id)]


@router.post(f"{V1}/group/{{group_guid}}/users")
def group_users_post(group_guid: str, request: Request, caller: Caller) -> Response:
    """Add the users of `userids` (a JSON list of GUIDs) -> 204."""
    return _set_members(group_guid, request, caller, "ADD")


@router.put(f"{V1}/group/{{group_guid}}/users")
def group_users_put(group_guid: str, request: Request, caller: Caller) -> Response:
    """Make the users of `userids` the group's only direct members -> 204."""
    return _set_members(group_guid, request, caller, "REPLACE")


@router.get(f"{V1}/group/listuser/{{group_guid}}")
def group_listuser(group_guid: str, request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The full objects of the group's direct members."""
    app = app_of(request)
    team = app.groups.find(caller, group_guid)
    return [user_object(app, caller, user) for user in app.groups.members(caller, team.id)]


@router.get(f"{V1}/group/{{group_guid}}/groups")
def group_groups_get(group_guid: str, request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The headers of the groups directly inside this one."""
    app = app_of(request)
    team = app.groups.find(caller, group_guid)
    return [group_header(app, caller, sub) for sub in app.groups.member_groups(caller, team.id)]


@router.post(f"{V1}/group/{{group_guid}}/groups")
def group_groups_post(group_guid: str, request: Request, caller: Caller) -> Response:
    """Put the groups of `groupids` inside this one -> 204 (a cycle is refused)."""
    return _set_member_groups(group_guid, request, caller, "ADD")


@router.put(f"{V1}/group/{{group_guid}}/groups")
def group_groups_put(group_guid: str, request: Request, caller: Caller) -> Response:
    """Make the groups of `groupids` the only ones inside this one -> 204."""
    return _set_member_groups(group_guid, request, caller, "REPLACE")


@router.delete(f"{V1}/group/{{group_guid}}/groups")
def group_groups_delete(group_guid: str, request: Request, caller: Caller) -> Response:
    """Take the groups of `groupids` out of this one -> 204."""
    return _set_member_groups(group_guid, request, caller, "REMOVE")


def _set_members(group_guid: str, request: Request, caller: Principal, operation: str) -> Response:
    app = app_of(request)
    team = app.groups.find(caller, group_guid)
    wanted = json_strings(request.query_params.get("userids"), "userids", required=True)
    users = find_users(app, caller, wanted)
    app.groups.set_members(caller, team.id, [u.id for u in users], operation)
    return Response(status_code=204)


def _set_member_groups(group_guid: str, request: Request, caller: Principal, operation: str) -> Response:
    app = app_of(request)
    team = app.groups.find(caller, group_guid)
    wanted = json_strings(request.query_params.get("groupids"), "groupids", required=True)
    members = find_groups(app, caller, wanted)
    app.groups.set_member_groups(caller, team.id, [g.id for g in members], operation)
    return Response(status_code=204)


@router.post(f"{V1}/group/addprivilege")
def group_addprivilege(request: Request, caller: Caller, form: Form) -> list[dict[str, Any]]:
    """Multipart `privilege` and `groupNames` (JSON list) -> the changed groups' objects."""
    return _change_privilege(request, caller, form, add=True)


@router.post(f"{V1}/group/removeprivilege")
def group_removeprivilege(request: Request, caller: Caller, form: Form) -> list[dict[str, Any]]:
    """Multipart `privilege` and `groupNames` (JSON list) -> the changed groups' objects."""
    return _change_privilege(request, caller, form, add=False)


def _change_privilege(
    request: Request, caller: Principal, form: dict[str, str], *, add: bool
) -> list[dict[str, Any]]:
    app = app_of(request)
    teams = find_groups(app, caller, json_strings(form.get("groupNames"), "groupNames", required=True))
    change = app.groups.add_privilege if add else app.groups.remove_privilege
    change(caller, [t.id for t in teams], text(form, "privilege"))
    return [group_object(app, caller, app.groups.get(caller, t.id)) for t in teams]
