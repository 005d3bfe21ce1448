"""V1 users: `user/` (one or all), `user/<guid>/groups`, and `user/sync` (a full sync of users
and groups from a list of principals, through the core's `PrincipalSync`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError
from openlytics.core.governance.sync import PrincipalSpec, SyncResult
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V1
from openlytics.dialects.thoughtspot.forms import Form, flag, json_value
from openlytics.dialects.thoughtspot.routes.common import (
    all_users,
    find_user,
    group_header,
    user_object,
)

router = APIRouter()


@router.get(f"{V1}/user/")
@router.get(f"{V1}/user")
def user_get(request: Request, caller: Caller) -> Any:
    """`userid` and/or `name` -> that user's object; neither -> every user's."""
    app = app_of(request)
    users = all_users(app, caller)
    wanted = request.query_params.get("userid") or request.query_params.get("name")
    if wanted:
        return user_object(app, caller, find_user(app, caller, wanted, users))
    return [user_object(app, caller, user) for user in users]


@router.get(f"{V1}/user/{{user_guid}}/groups")
def user_groups_get(user_guid: str, request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The headers of the groups the user is directly in."""
    app = app_of(request)
    user = find_user(app, caller, user_guid)
    return [group_header(app, caller, team) for team in app.groups.user_groups(caller, user.id)]


#: ThoughtSpot's principal types -> the core's kinds.
PRINCIPAL_TYPES = {"LOCAL_USER": "user", "USER": "user", "LOCAL_GROUP": "group", "GROUP": "group"}


@router.post(f"{V1}/user/sync")
def user_sync(request: Request, caller: Caller, form: Form) -> dict[str, list[str]]:
    """Sync users and groups with the `principals` JSON file (multipart): create and update them,
    set their group memberships, and with `removeDelete` delete those the file leaves out;
    `applyChanges` false only reports. `password`: new users' password."""
    principals = json_value(form.get("principals") or "", "principals")
    if not isinstance(principals, list):
        raise InvalidInputError("principals", "a JSON list of users and groups")
    specs = [_principal_spec(index, entry) for index, entry in enumerate(principals)]
    result = app_of(request).principal_sync.sync(
        caller,
        specs,
        apply=flag(form.get("applyChanges"), "applyChanges", False),
        remove_deleted=flag(form.get("removeDelete"), "removeDelete", False),
        password=form.get("password") or None,
    )
    return _sync_result(result)


def _principal_spec(index: int, entry: Any) -> PrincipalSpec:
    where = f"principals[{index}]"
    if not isinstance(entry, dict):
        raise InvalidInputError(where, "a principal object")
    kind = PRINCIPAL_TYPES.get(str(entry.get("principalTypeEnum") or "").upper())
    if kind is None:
        raise InvalidInputError(f"{where}.principalTypeEnum", "LOCAL_USER or LOCAL_GROUP")
    groups = entry.get("groupNames") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise InvalidInputError(f"{where}.groupNames", "a list of group names")
    name = entry.get("name")
    if kind == "user" and isinstance(name, str) and "@" not in name and isinstance(entry.get("mail"), str):
        name = entry["mail"]  # users sign in by e-mail here
    return PrincipalSpec(
        kind=kind,
        name=str(name or ""),
        display_name=_text(entry, "displayName", where),
        description=_text(entry, "description", where),
        visibility=_text(entry, "visibility", where),
        groups=tuple(groups),
        password=_text(entry, "password", where),
    )


def _text(entry: dict[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{where}.{key}", "text")
    return value or None


def _sync_result(result: SyncResult) -> dict[str, list[str]]:
    return {
        "usersAdded": result.users_added,
        "usersDeleted": result.users_deleted,
        "usersUpdated": result.users_updated,
        "groupsAdded": result.groups_added,
        "groupsDeleted": result.groups_deleted,
        "groupsUpdated": result.groups_updated,
    }
