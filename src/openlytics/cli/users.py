"""`openlytics users ...`: manage the organization's users (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_model, print_models

app = typer.Typer(help="Manage users (admins).", no_args_is_help=True)

COLUMNS = ("id", "email", "name", "role", "is_disabled", "created_at")
RoleOption = Annotated[str | None, typer.Option("--role", help="admin, editor or viewer.")]


@app.command("list")
def list_users(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List the organization's users."""
    with connect(url, api_key) as client:
        users = list(client.users.list())
    if json:
        print_json(users)
    else:
        print_models(users, COLUMNS, title="Users")


@app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="E-mail address (the login).")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    role: Annotated[str, typer.Option("--role", help="admin, editor or viewer.")] = "viewer",
    password: Annotated[str | None, typer.Option("--password", help="Password for web login.")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Add a user."""
    with connect(url, api_key) as client:
        user = client.users.create(email, name, role=role, password=password)
    console().print(f"Created user [bold]{user.id}[/] ({user.email}, {user.role}).")


@app.command("update")
def update_user(
    user_id: Annotated[int, typer.Argument(help="User id.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    role: RoleOption = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="Enable or disable.")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Change a user's name, role, password or enabled state."""
    disabled = None if enable is None else not enable
    with connect(url, api_key) as client:
        user = client.users.update(user_id, name=name, role=role, password=password, is_disabled=disabled)
    print_model(user)


@app.command("disable")
def disable_user(
    user_id: Annotated[int, typer.Argument(help="User id.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Disable a user: their keys and sessions stop working."""
    with connect(url, api_key) as client:
        user = client.users.disable(user_id)
    console().print(f"Disabled user [bold]{user.id}[/] ({user.email}).")


@app.command("delete")
def delete_user(
    user_id: Annotated[int, typer.Argument(help="User id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Delete a user with their keys, sessions and team memberships (what they created stays)."""
    if not yes:
        typer.confirm(f"Delete user {user_id}? This cannot be undone", abort=True)
    with connect(url, api_key) as client:
        client.users.delete(user_id)
    console().print(f"Deleted user [bold]{user_id}[/].")
