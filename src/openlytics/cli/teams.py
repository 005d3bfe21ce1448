"""`openlytics teams ...`: teams, their members and the parameters that filter what members read."""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Any

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, fail
from openlytics.cli._render import print_json, print_model, print_models

app = typer.Typer(help="Manage teams and their row-filtering parameters (admins).", no_args_is_help=True)

COLUMNS = ("id", "name", "description", "parameters", "member_ids")
TeamId = Annotated[int, typer.Argument(help="Team id.")]
UserId = Annotated[int, typer.Argument(help="User id.")]


@app.command("list")
def list_teams(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List the organization's teams."""
    with connect(url, api_key) as client:
        teams = client.teams.list()
    if json:
        print_json(teams)
    else:
        print_models(teams, COLUMNS, title="Teams")


@app.command("create")
def create_team(
    name: Annotated[str, typer.Argument(help="Team name (unique in the organization).")],
    description: Annotated[str | None, typer.Option("--description", help="What the team is.")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a team."""
    with connect(url, api_key) as client:
        team = client.teams.create(name, description=description)
    console().print(f"Created team [bold]{team.id}[/] ({team.name}).")


@app.command("delete")
def delete_team(team_id: TeamId, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Delete a team (its members stay users)."""
    with connect(url, api_key) as client:
        client.teams.delete(team_id)
    console().print(f"Deleted team [bold]{team_id}[/].")


@app.command("add-member")
def add_member(team_id: TeamId, user_id: UserId, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Add a user to a team."""
    with connect(url, api_key) as client:
        client.teams.add_member(team_id, user_id)
    console().print(f"User [bold]{user_id}[/] is in team [bold]{team_id}[/].")


@app.command("remove-member")
def remove_member(
    team_id: TeamId, user_id: UserId, url: UrlOption = None, api_key: ApiKeyOption = None
) -> None:
    """Take a user out of a team."""
    with connect(url, api_key) as client:
        client.teams.remove_member(team_id, user_id)
    console().print(f"User [bold]{user_id}[/] left team [bold]{team_id}[/].")


@app.command("set-parameter")
def set_parameter(
    team_id: TeamId,
    name: Annotated[str, typer.Argument(help="Parameter name: the dataset column it filters.")],
    values: Annotated[list[str], typer.Argument(help="The values members may read.")],
    typed: Annotated[
        bool, typer.Option("--typed", help="Read each value as JSON (numbers, true/false) instead of text.")
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Set the values a team parameter allows: members read only rows whose column NAME holds one."""
    parsed: list[Any] = [_typed(v) for v in values] if typed else list(values)
    with connect(url, api_key) as client:
        team = client.teams.set_parameter(team_id, name, parsed)
    print_model(team)


@app.command("remove-parameter")
def remove_parameter(
    team_id: TeamId,
    name: Annotated[str, typer.Argument(help="Parameter name.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove a team parameter."""
    with connect(url, api_key) as client:
        team = client.teams.remove_parameter(team_id, name)
    print_model(team)


def _typed(value: str) -> Any:
    try:
        return jsonlib.loads(value)
    except ValueError:
        fail(f"{value!r} is not a JSON value (quote text as '\"text\"', or leave out --typed)")
