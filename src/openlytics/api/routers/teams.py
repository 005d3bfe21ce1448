"""Teams: members and the parameters that filter the dataset rows members read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from openlytics.api import serializers as ser
from openlytics.api import serializers_teams as tser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body
from openlytics.core.principal import Principal
from openlytics.core.teams import TeamService
from openlytics.store.models import Team

router = APIRouter(tags=["teams"])


class NewTeamBody(Body):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class TeamChangesBody(Body):
    name: str | None = None
    description: str | None = None


class NewMemberBody(Body):
    user_id: int


class ParameterBody(Body):
    values: Any


def _one(teams: TeamService, principal: Principal, team: Team) -> dict[str, Any]:
    return tser.team(team, teams.member_ids(principal, [team.id])[team.id])


@router.get("/teams")
def list_teams(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The organization's teams, by name."""
    teams = app.teams.list(principal)
    members = app.teams.member_ids(principal, [t.id for t in teams])
    return {"items": [tser.team(t, members[t.id]) for t in teams]}


@router.post("/teams", status_code=201)
def create_team(body: NewTeamBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new team (admins)."""
    return _one(app.teams, principal, app.teams.create(principal, **body.model_dump()))


@router.get("/teams/{team_id}")
def get_team(team_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One team."""
    return _one(app.teams, principal, app.teams.get(principal, team_id))


@router.patch("/teams/{team_id}")
def update_team(team_id: int, body: TeamChangesBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Rename a team or change its description (admins)."""
    team = app.teams.update(principal, team_id, **body.model_dump(exclude_unset=True))
    return _one(app.teams, principal, team)


@router.delete("/teams/{team_id}", status_code=204)
def delete_team(team_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a team (admins)."""
    app.teams.delete(principal, team_id)
    return Response(status_code=204)


@router.get("/teams/{team_id}/members")
def list_members(team_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The team's members."""
    return {"items": [ser.user(u) for u in app.teams.members(principal, team_id)]}


@router.post("/teams/{team_id}/members", status_code=204)
def add_member(team_id: int, body: NewMemberBody, app: App, principal: CurrentPrincipal) -> Response:
    """Add a user of the organization to the team (admins; adding a member again is a no-op)."""
    app.teams.add_member(principal, team_id, body.user_id)
    return Response(status_code=204)


@router.delete("/teams/{team_id}/members/{user_id}", status_code=204)
def remove_member(team_id: int, user_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Take a user out of the team (admins)."""
    app.teams.remove_member(principal, team_id, user_id)
    return Response(status_code=204)


@router.put("/teams/{team_id}/parameters/{name}")
def set_parameter(
    team_id: int, name: str, body: ParameterBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Set the values a parameter allows (admins)."""
    return _one(app.teams, principal, app.teams.set_parameter(principal, team_id, name, body.values))


@router.delete("/teams/{team_id}/parameters/{name}")
def remove_parameter(team_id: int, name: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Remove a parameter (admins)."""
    return _one(app.teams, principal, app.teams.remove_parameter(principal, team_id, name))
