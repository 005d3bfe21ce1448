"""Teams (README "To Do"): CRUD, members, and the parameters that filter what members read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal
from openlytics.dialects.clicdata import wire
from openlytics.dialects.clicdata.auth import Caller, app_of
from openlytics.dialects.clicdata.routes.common import Body, text
from openlytics.store.models import Team

router = APIRouter()


@router.get("/team")
def get_team(request: Request, caller: Caller) -> dict[str, Any]:
    """All teams with their members' ids and parameters."""
    app = app_of(request)
    teams = app.teams.list(caller)
    members = app.teams.member_ids(caller, [t.id for t in teams])
    return {"teams": [_team(t, members.get(t.id, [])) for t in teams]}


@router.post("/team")
def create_team(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """`{"name", "description", "parameters": {name: [values]}}` -> the new team."""
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInputError("parameters", "an object {name: [values]}")
    team = app_of(request).teams.create(
        caller,
        name=text(body, "name") or "",
        description=text(body, "description", required=False),
        parameters=parameters,
    )
    return {"success": True, "team": _team(team, [])}


@router.put("/team/{rec_id}")
def update_team(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """Rename a team or change its description."""
    app = app_of(request)
    team = app.teams.update(
        caller,
        rec_id,
        name=text(body, "name", required=False),
        description=text(body, "description", required=False),
    )
    return {"success": True, "team": _with_members(app, caller, team)}


@router.delete("/team/{rec_id}")
def delete_team(rec_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """Delete a team (its members stay users)."""
    app_of(request).teams.delete(caller, rec_id)
    return {"success": True}


@router.post("/team/{rec_id}/user")
def add_team_user(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """Add a user, by `user_id` or `email`."""
    app = app_of(request)
    app.teams.add_member(caller, rec_id, _user_id(app, caller, body))
    return {"success": True, "team": _with_members(app, caller, app.teams.get(caller, rec_id))}


@router.delete("/team/{rec_id}/user")
def remove_team_user(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """Remove a user, by `user_id` or `email` in the body or the query string."""
    app = app_of(request)
    spec = {**body, **request.query_params}
    app.teams.remove_member(caller, rec_id, _user_id(app, caller, spec))
    return {"success": True, "team": _with_members(app, caller, app.teams.get(caller, rec_id))}


@router.post("/team/{rec_id}/parameter")
def set_team_parameter(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """`{"name", "value"}` or `{"name", "values": [...]}`: members read only matching rows."""
    app = app_of(request)
    values = body["values"] if "values" in body else body.get("value")
    team = app.teams.set_parameter(caller, rec_id, text(body, "name") or "", values)
    return {"success": True, "team": _with_members(app, caller, team)}


@router.delete("/team/{rec_id}/parameter")
def remove_team_parameter(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """Remove a parameter, named in the body or the query string."""
    app = app_of(request)
    spec = {**body, **request.query_params}
    team = app.teams.remove_parameter(caller, rec_id, text(spec, "name") or "")
    return {"success": True, "team": _with_members(app, caller, team)}


def _team(team: Team, member_ids: list[int]) -> dict[str, Any]:
    return {
        "rec_id": team.id,
        "name": team.name,
        "description": team.description or "",
        "parameters": team.parameters or {},
        "users": member_ids,
        "created_date": wire.timestamp(team.created_at),
        "modified_date": wire.timestamp(team.updated_at),
    }


def _with_members(app: Openlytics, caller: Principal, team: Team) -> dict[str, Any]:
    return _team(team, app.teams.member_ids(caller, [team.id]).get(team.id, []))


def _user_id(app: Openlytics, caller: Principal, spec: dict[str, Any]) -> int:
    raw = spec.get("user_id")
    if raw is not None and str(raw).strip():
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise InvalidInputError("user_id", "a whole number") from None
    email = spec.get("email")
    if isinstance(email, str) and email.strip():
        return app.identity.find_user_by_email(caller, email).id
    raise InvalidInputError("user_id", "give user_id or email")
