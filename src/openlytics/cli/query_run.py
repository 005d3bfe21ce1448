"""`openlytics query run`: run SQL or a saved query and print or save the result."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from openlytics.cli._common import ApiKeyOption, UrlOption, connect, errors, fail
from openlytics.cli._render import print_rows
from openlytics.client import Client, MissingDependencyError, QueryResult, format_for_path

app = typer.Typer(help="Run SQL or a saved query.", no_args_is_help=True)


class OutputFormat(enum.StrEnum):
    """How `query run` prints a result on stdout."""

    table = "table"
    csv = "csv"
    json = "json"


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """`["a=1", "b=[1,2]", "c=x", "c=y"]` -> `{"a": "1", "b": [1, 2], "c": ["x", "y"]}`.

    Values stay strings (the server coerces them by the parameter's type) unless they look like a
    JSON array or object; a repeated name collects its values into a list.
    """
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="-p")
        value: Any = raw
        if raw[:1] in "[{" and raw:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(f"{name}: invalid JSON ({exc.msg})", param_hint="-p") from exc
        name = name.strip()
        if name in values:
            previous = values[name]
            values[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[name] = value
    return values


@app.command("run")
def run(
    sql: Annotated[str | None, typer.Option("--sql", help="Ad-hoc SQL to run (editors).")] = None,
    query_id: Annotated[int | None, typer.Option("--query-id", help="Saved query to run.")] = None,
    data_source: Annotated[
        int | None, typer.Option("--data-source", help="Data source id for --sql (default: warehouse).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE for --query-id; repeatable.")
    ] = None,
    max_age: Annotated[float, typer.Option("--max-age", help="Accept a cached result this young (s).")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save to a .csv, .parquet, .arrow or .json file.")
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output on stdout.")] = (
        OutputFormat.table
    ),
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows shown in a table.")] = 50,
    wait: Annotated[float, typer.Option("--wait", help="Give up waiting after this long (s).")] = 300,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Run SQL (--sql) or a saved query (--query-id) and print the result or save it (--output)."""
    if (sql is None) == (query_id is None):
        fail("give exactly one of --sql or --query-id")
    if param and query_id is None:
        fail("-p/--param applies to --query-id only")
    if output is not None:
        try:
            format_for_path(output)
        except ValueError as exc:
            fail(str(exc))
    parameters = parse_parameters(param or [])
    with connect(url, api_key, timeout=max(30.0, wait)) as client:
        result = _run(client, sql, query_id, data_source, parameters, max_age, wait)
        if output is not None:
            _save(result, output)
        elif output_format is OutputFormat.table:
            _print_table(result, max_rows)
        else:
            result.download(click.get_binary_stream("stdout"), format=output_format.value)


def _run(
    client: Client,
    sql: str | None,
    query_id: int | None,
    data_source: int | None,
    parameters: dict[str, Any],
    max_age: float,
    wait: float,
) -> QueryResult:
    if sql is not None:
        return client.run_sql(sql, data_source, max_age, wait=wait)
    assert query_id is not None
    return client.queries.run(query_id, parameters or None, max_age, wait=wait)


def _print_table(result: QueryResult, max_rows: int) -> None:
    if result.result.rows is not None:
        rows = result.rows
    else:
        try:  # Arrow fetches fast and keeps types; only the first rows are printed
            rows = result.to_arrow().slice(0, max_rows).to_pylist()
        except MissingDependencyError:
            rows = result.rows
    print_rows(rows, result.column_names, result.row_count, max_rows=max_rows)


@contextmanager
def download_progress(label: str) -> Iterator[Any]:
    """A Rich progress bar on stderr; yields the SDK's `progress(done, total)` callback."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=errors(), transient=False) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _save(result: QueryResult, output: Path) -> None:
    with download_progress(output.name) as progress:
        written = result.download(output, progress=progress)
    errors().print(f"Saved {result.row_count:,} rows ({written:,} bytes) to {output}")
