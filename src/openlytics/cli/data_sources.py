"""`openlytics data-sources ...`: the warehouse and external databases."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.tree import Tree

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_models

app = typer.Typer(help="Manage data sources.", no_args_is_help=True)

COLUMNS = ("id", "name", "kind", "url", "is_default", "created_at")
IdArgument = Annotated[int, typer.Argument(help="Data source id.")]


@app.command("list")
def list_sources(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List data sources."""
    with connect(url, api_key) as client:
        sources = list(client.data_sources.list())
    if json:
        print_json(sources)
    else:
        print_models(sources, COLUMNS, title="Data sources")


@app.command("add")
def add_source(
    name: Annotated[str, typer.Argument(help="Display name.")],
    source_url: Annotated[str, typer.Argument(metavar="URL", help="e.g. postgresql://user:pw@host/db")],
    timeout: Annotated[float | None, typer.Option("--timeout", help="Query time limit (s).")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Register an external database (admins)."""
    options: dict[str, Any] | None = {"timeout": timeout} if timeout is not None else None
    with connect(url, api_key) as client:
        source = client.data_sources.create(name, source_url, options=options)
    console().print(f"Added data source [bold]{source.id}[/] ({source.name}, {source.kind}).")


@app.command("test")
def test_source(source_id: IdArgument, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Check that a data source answers."""
    with connect(url, api_key) as client:
        client.data_sources.test(source_id)
    console().print(f"Data source [bold]{source_id}[/] is reachable.", style="green")


@app.command("schema")
def show_schema(
    source_id: IdArgument, url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False
) -> None:
    """Show a data source's tables and columns."""
    with connect(url, api_key) as client:
        tables = client.data_sources.schema(source_id)
    if json:
        print_json(tables)
        return
    tree = Tree(f"data source {source_id}: {len(tables)} tables")
    for table in tables:
        qualified = f"{table.schema}.{table.name}" if table.schema else table.name
        branch = tree.add(f"[bold]{qualified}[/] [dim]{table.kind}[/]")
        for column in table.columns:
            branch.add(f"{column.name} [dim]{column.type}[/]")
    console().print(tree)
