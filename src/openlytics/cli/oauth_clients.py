"""`openlytics oauth-clients ...`: OAuth client credentials of the caller (admins: anyone's)."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_models

app = typer.Typer(help="Manage OAuth clients (client credentials).", no_args_is_help=True)

COLUMNS = ("id", "client_id", "name", "user_id", "created_at", "last_used_at")


@app.command("list")
def list_clients(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List OAuth clients (the secrets are never shown again)."""
    with connect(url, api_key) as client:
        clients = list(client.oauth_clients.list())
    if json:
        print_json(clients)
    else:
        print_models(clients, COLUMNS, title="OAuth clients")


@app.command("create")
def create_client(
    name: Annotated[str, typer.Option("--name", help="What the client is for.")] = "",
    user_id: Annotated[int | None, typer.Option("--user-id", help="Another user's client (admins).")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create an OAuth client and print its id and secret (the secret is shown only this once)."""
    with connect(url, api_key) as client:
        created = client.oauth_clients.create(name, user_id=user_id)
    out = console()
    out.print(f"Created OAuth client [bold]{created.id}[/] ({created.name or 'unnamed'}).")
    out.print(f"client_id:     [bold]{created.client_id}[/]", highlight=False, soft_wrap=True)
    out.print(f"client_secret: [bold green]{created.client_secret}[/]", highlight=False, soft_wrap=True)
    out.print("Keep the secret: it is shown only once.")


@app.command("revoke")
def revoke_client(
    client_pk: Annotated[int, typer.Argument(metavar="ID", help="OAuth client id (the number).")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Revoke an OAuth client; its access tokens stop working."""
    with connect(url, api_key) as client:
        client.oauth_clients.revoke(client_pk)
    console().print(f"Revoked OAuth client [bold]{client_pk}[/].")
