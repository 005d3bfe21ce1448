"""`openlytics queries ...`: saved queries."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.syntax import Syntax

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_model, print_models

app = typer.Typer(help="Browse saved queries.", no_args_is_help=True)

COLUMNS = ("id", "name", "data_source_id", "tags", "is_archived", "updated_at")


@app.command("list")
def list_queries(
    search: Annotated[str | None, typer.Option("--search", "-q", help="Search text.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only queries with this tag.")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived queries.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """List saved queries."""
    with connect(url, api_key) as client:
        queries = list(client.queries.list(q=search, tag=tag, include_archived=archived))
    if json:
        print_json(queries)
    else:
        print_models(queries, COLUMNS, title="Queries")


@app.command("show")
def show_query(
    query_id: Annotated[int, typer.Argument(help="Query id.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Show a saved query and its SQL."""
    with connect(url, api_key) as client:
        query = client.queries.get(query_id)
    if json:
        print_json(query)
        return
    print_model(query)
    console().print(Syntax(query.sql, "sql", word_wrap=True))
