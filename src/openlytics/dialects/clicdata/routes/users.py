"""Users of the account (README "To Do"): list, create, change, delete, set a password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import all_pages
from openlytics.dialects.clicdata import wire
from openlytics.dialects.clicdata.auth import Caller, app_of
from openlytics.dialects.clicdata.routes.common import Body, text

router = APIRouter()


@router.get("/user")
def get_user_list(request: Request, caller: Caller) -> dict[str, Any]:
    """Every user of the account."""
    app = app_of(request)
    found = all_pages(lambda page, size: app.identity.list_users(caller, page=page, per_page=size))
    return {"users": [wire.user(u) for u in found]}


@router.post("/user")
def create_user(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """`{"email", "name", "role", "password"}` -> the new user."""
    email = text(body, "email") or ""
    user = app_of(request).identity.create_user(
        caller,
        email=email,
        name=text(body, "name", required=False) or email.split("@")[0],
        role=text(body, "role", required=False) or "viewer",
        password=text(body, "password", required=False),
    )
    return {"success": True, "user": wire.user(user)}


@router.get("/user/{rec_id}")
def get_user(rec_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """One user, as a one-element list like the other single-object reads."""
    return {"users": [wire.user(app_of(request).identity.get_user(caller, rec_id))]}


@router.put("/user/{rec_id}")
def update_user(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """Change `name`, `role` or `enabled`."""
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidInputError("enabled", "true or false")
    user = app_of(request).identity.update_user(
        caller,
        rec_id,
        name=text(body, "name", required=False),
        role=text(body, "role", required=False),
        is_disabled=None if enabled is None else not enabled,
    )
    return {"success": True, "user": wire.user(user)}


@router.delete("/user/{rec_id}")
def delete_user(rec_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """Delete a user (what they created stays)."""
    app_of(request).identity.delete_user(caller, rec_id)
    return {"success": True}


@router.put("/user/{rec_id}/password")
def set_user_password(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """`{"password"}`: a new password (their sessions end)."""
    app_of(request).identity.update_user(caller, rec_id, password=text(body, "password"))
    return {"success": True}
