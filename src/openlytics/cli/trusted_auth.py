"""`openlytics trusted-auth show|rotate|disable`: the organization's trusted-authentication key (admins)."""

from __future__ import annotations

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json
from openlytics.client import TrustedAuthKey

app = typer.Typer(
    help="Show, rotate or disable the trusted-authentication key (a backend with it gets users tokens).",
    no_args_is_help=True,
)


@app.command("show")
def show(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """Print the key, or say that trusted authentication is not enabled."""
    with connect(url, api_key) as client:
        key = client.trusted_auth.show()
    _print(key, json)


@app.command("rotate")
def rotate(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """Make a new key (enabling trusted authentication); the previous key stops working at once."""
    with connect(url, api_key) as client:
        key = client.trusted_auth.rotate()
    _print(key, json)


@app.command("disable")
def disable(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """Turn trusted authentication off: the key stops working at once."""
    with connect(url, api_key) as client:
        key = client.trusted_auth.disable()
    _print(key, json)


def _print(key: TrustedAuthKey, json: bool) -> None:
    if json:
        print_json(key)
        return
    out = console()
    if not key.enabled:
        out.print("Trusted authentication is not enabled: `openlytics trusted-auth rotate` makes a key.")
        return
    out.print(f"secret_key: [bold green]{key.secret_key}[/]", highlight=False, soft_wrap=True)
    rotated = key.rotated_at.isoformat() if key.rotated_at else "-"
    out.print(f"rotated at: {rotated}", highlight=False)
