"""`openlytics datasets ...`: typed tables in the warehouse — create, load files, export, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, errors, fail
from openlytics.cli._render import print_json, print_models
from openlytics.cli.query_run import download_progress
from openlytics.cli.scripts import UUID_RE
from openlytics.client import Client, WriteResult, format_for_path
from openlytics.client._uploads import content_type_of

app = typer.Typer(help="Typed tables in the warehouse: create, load, export, versions.", no_args_is_help=True)

COLUMNS = ("id", "name", "row_count", "version", "primary_key", "updated_at")
VERSION_COLUMNS = ("version", "operation", "row_count", "columns", "created_at")
DatasetArgument = Annotated[str, typer.Argument(help="Dataset name, id or UUID.")]


def resolve(client: Client, reference: str) -> int | str:
    """A dataset's id or UUID from what the user typed (a name is looked up)."""
    if reference.isdecimal() or UUID_RE.match(reference):
        return reference
    found = client.datasets.find(reference)
    if found is None:
        fail(f"no dataset named {reference!r}")
    return found.id


def parse_pairs(pairs: list[str], separator: str, option: str) -> list[tuple[str, str]]:
    """`["a:int", "b:float"]` -> `[("a", "int"), ("b", "float")]` (types are checked by the server)."""
    parsed = []
    for pair in pairs:
        name, sep, kind = pair.rpartition(separator)
        if not sep or not name.strip() or not kind.strip():
            raise typer.BadParameter(f"expected NAME{separator}TYPE, got {pair!r}", param_hint=option)
        parsed.append((name.strip(), kind.strip()))
    return parsed


@app.command("list")
def list_datasets(
    search: Annotated[str | None, typer.Option("--search", "-q", help="Match names, descriptions.")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """List datasets."""
    with connect(url, api_key) as client:
        datasets = list(client.datasets.list(search=search))
    if json:
        print_json(datasets)
    else:
        print_models(datasets, COLUMNS, title="Datasets")


@app.command("create")
def create_dataset(
    name: Annotated[str, typer.Argument(help="The name queries read it by.")],
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column", "-c", help="NAME:TYPE (int32 int64 float32 float64 bool date datetime string)."
        ),
    ] = None,
    primary_key: Annotated[
        list[str] | None, typer.Option("--primary-key", "-k", help="Key column; repeatable.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="What it holds.")] = None,
    source_query: Annotated[
        int | None, typer.Option("--source-query", help="Id of the saved query `rebuild` reads.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a dataset, empty or with columns."""
    columns = parse_pairs(column or [], ":", "--column")
    with connect(url, api_key) as client:
        dataset = client.datasets.create(
            name,
            columns or None,
            primary_key=primary_key or None,
            description=description,
            source_query_id=source_query,
        )
    console().print(f"Created dataset [bold]{escape(dataset.name)}[/] (id {dataset.id}).")


@app.command("load")
def load_file(
    dataset: DatasetArgument,
    file: Annotated[
        Path, typer.Argument(help="A .csv, .csv.gz or .parquet file.", exists=True, dir_okay=False)
    ],
    separator: Annotated[str | None, typer.Option("--separator", "-s", help="CSV separator.")] = None,
    force_type: Annotated[
        list[str] | None,
        typer.Option("--force-type", "-t", help="COLUMN=TYPE instead of inferring; repeatable."),
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="Add the rows instead of replacing the data.")
    ] = False,
    create: Annotated[
        bool, typer.Option("--create", help="Create the dataset if no dataset has this name.")
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Replace a dataset's data and schema with a file (a new version), or --append its rows."""
    forced = dict(parse_pairs(force_type or [], "=", "--force-type"))
    if append and forced:
        fail("--force-type applies to a reload; appended rows take the dataset's types")
    try:
        content_type_of(file)
    except ValueError as exc:
        fail(str(exc))
    with connect(url, api_key) as client:
        ref = _target(client, dataset, create)
        with download_progress(f"Uploading {file.name}") as progress:
            if append:
                result = client.datasets.append(ref, file, separator=separator, progress=progress)
            else:
                result = client.datasets.reload(
                    ref, file, separator=separator, force_types=forced or None, progress=progress
                )
    _print_write(result, "Appended" if append else "Loaded")


@app.command("export")
def export_data(
    dataset: DatasetArgument,
    file: Annotated[Path, typer.Argument(help="Where to write: .csv or .parquet (.arrow, .json too).")],
    version: Annotated[
        int | None, typer.Option("--version", help="A kept version (default: current).")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Save a dataset's rows to a file; the format follows the suffix."""
    try:
        format_for_path(file)
    except ValueError as exc:
        fail(str(exc))
    with connect(url, api_key) as client:
        ref = resolve(client, dataset)
        with download_progress(file.name) as progress:
            written = client.datasets.download(ref, file, version=version, progress=progress)
    errors().print(f"Saved {written:,} bytes to {file}")


@app.command("versions")
def list_versions(
    dataset: DatasetArgument, url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False
) -> None:
    """Kept versions of a dataset, newest first."""
    with connect(url, api_key) as client:
        versions = client.datasets.versions(resolve(client, dataset))
    if json:
        print_json(versions)
    else:
        print_models(versions, VERSION_COLUMNS, title="Versions")


@app.command("restore")
def restore_version(
    dataset: DatasetArgument,
    version: Annotated[int, typer.Argument(help="The kept version to make current again.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Make a kept version current again (as a new version)."""
    with connect(url, api_key) as client:
        restored = client.datasets.restore(resolve(client, dataset), version)
    console().print(
        f"Restored version {version} of [bold]{escape(restored.name)}[/] as version {restored.version} "
        f"({restored.row_count:,} rows)."
    )


@app.command("rebuild")
def rebuild_dataset(
    dataset: DatasetArgument,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            "-m",
            help="reload (keep types), recreate (new schema), append, update or updateappend (by key).",
        ),
    ] = "reload",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Run a dataset's source query afresh and apply its rows."""
    with connect(url, api_key) as client:
        outcome = client.datasets.rebuild(resolve(client, dataset), method=method)
    if json:
        print_json(outcome)
        return
    name = escape(outcome.dataset.name)
    if not outcome.rebuilt:
        console().print(escape(outcome.message))
        return
    console().print(
        f"Rebuilt [bold]{name}[/] ({outcome.method}): {escape(outcome.message)}; "
        f"{outcome.row_count:,} rows, version {outcome.dataset.version}."
    )


def _target(client: Client, reference: str, create: bool) -> int | str:
    if create and not (reference.isdecimal() or UUID_RE.match(reference)):
        found = client.datasets.find(reference)
        return found.id if found is not None else client.datasets.create(reference).id
    return resolve(client, reference)


def _print_write(result: WriteResult, verb: str) -> None:
    dataset = result.dataset
    rows = result.inserted + result.updated
    columns = ", ".join(f"{c.name} {c.type}" for c in dataset.columns)
    console().print(
        f"{verb} {rows:,} rows into [bold]{escape(dataset.name)}[/]: {dataset.row_count:,} rows, "
        f"version {dataset.version} ({escape(columns)})."
    )
