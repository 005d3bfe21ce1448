"""V1 users: `user/` (one or all) and `user/<guid>/groups`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V1
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
