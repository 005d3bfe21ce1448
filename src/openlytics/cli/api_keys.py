"""`openlytics api-keys ...`: the caller's API keys (admins: anyone's)."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_models

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

COLUMNS = ("id", "name", "prefix", "user_id", "query_id", "created_at", "last_used_at", "expires_at")
UserIdOption = Annotated[int | None, typer.Option("--user-id", help="Another user's keys (admins).")]


@app.command("list")
def list_keys(
    user_id: UserIdOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """List API keys (the secrets are never shown again)."""
    with connect(url, api_key) as client:
        keys = list(client.api_keys.list(user_id=user_id))
    if json:
        print_json(keys)
    else:
        print_models(keys, COLUMNS, title="API keys")


@app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    user_id: UserIdOption = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at", help="ISO-8601 expiry.")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create an API key and print its secret (shown only this once)."""
    with connect(url, api_key) as client:
        key = client.api_keys.create(name, user_id=user_id, expires_at=expires_at)
    out = console()
    out.print(f"Created API key [bold]{key.id}[/] ({key.name}). Keep the secret, it is not shown again:")
    out.print(key.key, style="bold green", highlight=False, soft_wrap=True)


@app.command("revoke")
def revoke_key(
    key_id: Annotated[int, typer.Argument(help="API key id.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Revoke an API key."""
    with connect(url, api_key) as client:
        client.api_keys.revoke(key_id)
    console().print(f"Revoked API key [bold]{key_id}[/].")
