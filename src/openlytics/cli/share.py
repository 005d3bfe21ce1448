"""`openlytics share ...`: who an object is shared with, and sharing it (docs/governance.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_models
from openlytics.client import ObjectShares

app = typer.Typer(
    help="Share queries, visualizations, dashboards, datasets and data sources with users and groups.",
    no_args_is_help=True,
)

Kind = Annotated[
    str, typer.Argument(help="query, visualization, dashboard, dataset, data_source or pipeline_input.")
]
ObjectId = Annotated[int, typer.Argument(help="The object's id.")]
Users = Annotated[list[int] | None, typer.Option("--user", "-u", help="A user id; repeatable.")]
Groups = Annotated[list[int] | None, typer.Option("--group", "-g", help="A group id; repeatable.")]


@app.command("show")
def show(
    kind: Kind,
    object_id: ObjectId,
    effective: Annotated[
        bool, typer.Option("--effective", help="Everyone it reaches: the author and group members too.")
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Show who an object is shared with, and your own access."""
    with connect(url, api_key) as client:
        shares = client.shares.get(kind, object_id, effective=effective)
    if json:
        print_json(shares)
    else:
        _print(shares)


@app.command("grant")
def grant(
    kind: Kind,
    object_id: ObjectId,
    user: Users = None,
    group: Groups = None,
    mode: Annotated[str, typer.Option("--mode", help="READ_ONLY or MODIFY.")] = "READ_ONLY",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Share an object with users and groups: once shared, only they, its author and admins reach it."""
    with connect(url, api_key) as client:
        shares = client.shares.grant(kind, object_id, users=user or [], groups=group or [], mode=mode.upper())
    _print(shares)


@app.command("revoke")
def revoke(
    kind: Kind,
    object_id: ObjectId,
    user: Users = None,
    group: Groups = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Stop sharing an object with users and groups (shared with nobody, it is open to everyone again)."""
    with connect(url, api_key) as client:
        shares = client.shares.revoke(kind, object_id, users=user or [], groups=group or [])
    _print(shares)


def _print(shares: ObjectShares) -> None:
    title = f"{shares.kind} {shares.object_id}: {shares.type} shares"
    if shares.grants:
        print_models(shares.grants, ("principal", "id", "mode"), title=title)
    else:
        console().print(f"{title}: none (open to the organization)")
    console().print(f"your access: [bold]{shares.access}[/]")
