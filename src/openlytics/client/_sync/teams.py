# Generated from _async/teams.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Teams: members and the parameters that filter the dataset rows members read."""

from __future__ import annotations

import builtins
from typing import Any
from urllib.parse import quote

from openlytics.client.models import Team, User

from .http import HTTP


class Teams:
    """`client.teams`: the organization's teams (admins manage them)."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self) -> builtins.list[Team]:
        """Every team of the organization, by name."""
        body = self._http.request("GET", "/teams")
        return [Team.from_json(item) for item in body.get("items") or []]

    def get(self, team_id: int) -> Team:
        """One team."""
        return Team.from_json(self._http.request("GET", f"/teams/{team_id}"))

    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        parameters: dict[str, builtins.list[Any]] | None = None,
    ) -> Team:
        """A new team, optionally with parameters ({name: [allowed values]})."""
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        if parameters is not None:
            body["parameters"] = parameters
        return Team.from_json(self._http.request("POST", "/teams", json=body))

    def update(self, team_id: int, *, name: str | None = None, description: str | None = None) -> Team:
        """Rename a team or change its description."""
        fields = {"name": name, "description": description}
        body = {k: v for k, v in fields.items() if v is not None}
        return Team.from_json(self._http.request("PATCH", f"/teams/{team_id}", json=body))

    def delete(self, team_id: int) -> None:
        """Delete a team (its members stay users)."""
        self._http.request("DELETE", f"/teams/{team_id}")

    def members(self, team_id: int) -> builtins.list[User]:
        """The team's members."""
        body = self._http.request("GET", f"/teams/{team_id}/members")
        return [User.from_json(item) for item in body.get("items") or []]

    def add_member(self, team_id: int, user_id: int) -> None:
        """Add a user to the team (adding a member again is a no-op)."""
        self._http.request("POST", f"/teams/{team_id}/members", json={"user_id": user_id})

    def remove_member(self, team_id: int, user_id: int) -> None:
        """Take a user out of the team."""
        self._http.request("DELETE", f"/teams/{team_id}/members/{user_id}")

    def set_parameter(self, team_id: int, name: str, values: builtins.list[Any] | Any) -> Team:
        """Set the values a parameter allows (a list, or one value)."""
        path = f"/teams/{team_id}/parameters/{quote(name, safe='')}"
        return Team.from_json(self._http.request("PUT", path, json={"values": values}))

    def remove_parameter(self, team_id: int, name: str) -> Team:
        """Remove a parameter from the team."""
        path = f"/teams/{team_id}/parameters/{quote(name, safe='')}"
        return Team.from_json(self._http.request("DELETE", path))
