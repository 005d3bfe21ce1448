"""Typer wiring of the utilities: options, Rich progress bars on stderr, and printing results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, errors
from openlytics.cli._render import print_json
from openlytics.cli.utilities.clone_dashboard import clone_dashboard as clone
from openlytics.cli.utilities.export_queries import export_queries as export
from openlytics.cli.utilities.gdpr_scrub import scrub

ArchivedOption = Annotated[bool, typer.Option("--archived", help="Include archived queries.")]


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar on stderr; yields `update(label, done, total)`, one bar per label."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors(), transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        yield update


def gdpr_scrub(
    terms: Annotated[list[str], typer.Argument(help="Terms to look for (case-insensitive), e.g. e-mails.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Print the URL of every query and dashboard where a term occurs.

    Looks in names, descriptions, SQL, tags, cached results (streamed) and text widgets, archived
    queries and dashboards included.
    """
    with connect(url, api_key) as client, progress_bar() as update:
        findings = scrub(
            client, terms, progress=lambda stage, done, total: update(stage.title(), done, total)
        )
    if json:
        print_json([dataclasses.asdict(f) for f in findings])
        return
    for finding in findings:
        console().print(
            f"{escape(finding.url)}  [dim]({escape(', '.join(finding.places))})[/]",
            soft_wrap=True,
            highlight=False,
        )
    errors().print(f"{len(findings)} found", style="dim")


def find_tables(
    data_source_id: Annotated[int, typer.Argument(help="Data source id.")],
    detail: Annotated[
        bool, typer.Option("--detail", help="List each query with the tables it reads.")
    ] = False,
    archived: ArchivedOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """The tables the queries of a data source read (SQL parsed in the source's dialect)."""
    # Imported here: sqlglot takes a fifth of a second to import, which every other command would pay.
    from openlytics.cli.utilities.find_tables import find_tables as find

    with connect(url, api_key) as client:
        report = find(client, data_source_id, include_archived=archived)
    if json:
        uses = [{"query_id": q.id, "query": q.name, "table": t} for q, t in report.uses]
        failures = [{"query_id": q.id, "query": q.name, "error": e} for q, e in report.failures]
        counts = [{"table": t, "queries": n} for t, n in report.counts()]
        print_json({"tables": counts, "uses": uses, "unparsed": failures})
        return
    if detail:
        table = Table("query id", "query", "table")
        for query, name in report.uses:
            table.add_row(str(query.id), escape(query.name), escape(name))
    else:
        table = Table("table", "queries")
        for name, count in report.counts():
            table.add_row(escape(name), str(count))
    console().print(table)
    for query, error in report.failures:
        errors().print(f"[yellow]query {query.id} not parsed:[/] {escape(error)}", soft_wrap=True)


def clone_dashboard(
    slug_or_id: Annotated[str, typer.Argument(help="Dashboard slug or id.")],
    prefix: Annotated[str, typer.Option("--prefix", help="Put before the names of the copies.")],
    to_url: Annotated[
        str | None,
        typer.Option("--to-url", help="Copy to this server (default: the same).", show_default=False),
    ] = None,
    to_api_key: Annotated[
        str | None,
        typer.Option(
            "--to-api-key", help="API key on the target (another organization).", show_default=False
        ),
    ] = None,
    to_data_source: Annotated[
        int | None,
        typer.Option("--to-data-source", help="Data source id on the target (default: its default)."),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Copy a dashboard, with copies of its queries, here or onto another server or organization."""
    elsewhere = to_url is not None or to_api_key is not None
    with connect(url, api_key) as source, progress_bar() as update:
        if not elsewhere:
            result = clone(source, slug_or_id, prefix, progress=lambda d, t: update("Queries", d, t))
        else:
            with connect(to_url or url, to_api_key or api_key) as target:
                result = clone(
                    source,
                    slug_or_id,
                    prefix,
                    target=target,
                    data_source_id=to_data_source,
                    progress=lambda d, t: update("Queries", d, t),
                )
    if json:
        print_json({"dashboard": result.dashboard, "url": result.url, "queries": result.queries})
        return
    console().print(
        f"Cloned to [bold]{escape(result.dashboard.name)}[/]: {escape(result.url)}", soft_wrap=True
    )
    for old, new in result.queries.items():
        console().print(f"  query {old} -> {new}", highlight=False)


def export_queries(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the .sql files.")] = Path("."),
    archived: ArchivedOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Write every saved query to DIR/query_<id>.sql, with its metadata in a header comment."""
    with connect(url, api_key) as client, progress_bar() as update:
        written = export(
            client, directory, include_archived=archived, progress=lambda d, t: update("Queries", d, t)
        )
    noun = "query" if len(written) == 1 else "queries"
    errors().print(f"Exported {len(written)} {noun} to {escape(str(directory))}")
