"""`openlytics export`, `import` and `plan`: objects as code (docs/objects-as-code.md)."""

from __future__ import annotations

import json as jsonlib
import re
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, errors, fail
from openlytics.cli._render import MAX_CELL_WIDTH, print_json
from openlytics.cli.utilities.commands import progress_bar
from openlytics.client import ExportedObject, ImportReport
from openlytics.client._documents import document_files

SUFFIXES = {"yaml": ".yaml", "json": ".json"}
FILE_SUFFIXES = (".yaml", ".yml", ".json")
ACTION_STYLES = {"create": "green", "update": "yellow", "unchanged": "dim"}
# Imports apply many documents in one transaction: allow more than a single call's default.
IMPORT_TIMEOUT = 600.0

Paths = Annotated[
    list[Path], typer.Argument(help="Document files or directories (searched for .yaml, .yml, .json).")
]
CreateNewOption = Annotated[
    bool, typer.Option("--create-new", help="Always create new objects (new guids), never update.")
]


def export(
    guids: Annotated[list[str] | None, typer.Argument(help="Guids of the objects to export.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every object you can read.")] = False,
    kinds: Annotated[
        list[str] | None,
        typer.Option("--kind", "-k", help="Only objects of this kind; repeatable."),
    ] = None,
    associated: Annotated[
        bool, typer.Option("--associated", help="Also export what the objects refer to.")
    ] = False,
    permissions: Annotated[bool, typer.Option("--permissions", help="Include the objects' shares.")] = False,
    no_fqn: Annotated[
        bool, typer.Option("--no-fqn", help="Refer to other objects by name only, without their guids.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="yaml or json.")] = "yaml",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="A file, or a directory: one <kind>/<name>.<ext> per object."),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Export objects as YAML or JSON documents: those named by guid, or --all (of each --kind)."""
    fmt = fmt.lower()
    if fmt not in SUFFIXES:
        fail(f"--format is yaml or json, not {fmt!r}")
    if not guids and not everything and not kinds:
        fail("name the objects by guid, or export --all")
    with connect(url, api_key, timeout=IMPORT_TIMEOUT) as client:
        if guids:
            objects = client.assets.export(
                guids, associated=associated, fqn=not no_fqn, permissions=permissions, format=fmt
            )
        else:
            objects = client.assets.export_all(
                kinds or None, fqn=not no_fqn, permissions=permissions, format=fmt
            )
    if output is None:
        typer.echo(joined(objects, fmt), nl=False)
    elif output.suffix.lower() in FILE_SUFFIXES and not output.is_dir():
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(joined(objects, fmt), encoding="utf-8")
        errors().print(f"{len(objects)} objects written to {escape(str(output))}")
    else:
        write_directory(objects, output, fmt)


def import_objects(
    paths: Paths,
    create_new: CreateNewOption = False,
    partial: Annotated[
        bool, typer.Option("--partial", help="Apply the documents that succeed even when others fail.")
    ] = False,
    validate: Annotated[bool, typer.Option("--validate", help="Only check; apply nothing.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Import documents: update the objects their guids name, create the others (all or nothing
    unless --partial). Exits 1 when a document failed."""
    files = _files(paths)
    with connect(url, api_key, timeout=IMPORT_TIMEOUT) as client:
        report = client.assets.import_(files, create_new=create_new, partial=partial, validate_only=validate)
    _report(report, files, json=json, title="Import" if report.applied else "Import (nothing applied)")
    if not json:
        changed = sum(1 for item in report.items if item.ok and item.action != "unchanged")
        if report.applied:
            console().print(f"[bold green]applied[/]: {changed} of {len(report.items)} objects changed")
        else:
            console().print("[bold]nothing applied[/]")
    if not report.ok:
        raise typer.Exit(1)


def plan(
    paths: Paths,
    create_new: CreateNewOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Show what importing the documents would change, applying nothing. Exits 1 when a document fails."""
    files = _files(paths)
    with connect(url, api_key, timeout=IMPORT_TIMEOUT) as client:
        report = client.assets.plan(files, create_new=create_new)
    _report(report, files, json=json, title="Plan (nothing applied)")
    if not report.ok:
        raise typer.Exit(1)


def joined(objects: list[ExportedObject], fmt: str) -> str:
    """The objects as one text: YAML documents separated by `---`, or a JSON list."""
    if fmt == "json":
        return jsonlib.dumps([o.document for o in objects], indent=2) + "\n"
    return "---\n".join(o.text for o in objects)


def write_directory(objects: list[ExportedObject], directory: Path, fmt: str) -> list[Path]:
    """One file per object, `<kind>/<name-slug>.<ext>` (the guid added when two names collide)."""
    written: list[Path] = []
    with progress_bar() as update:
        for done, obj in enumerate(objects, start=1):
            path = directory / obj.kind / f"{slug(obj.name)}{SUFFIXES[fmt]}"
            if path in written:
                path = path.with_name(f"{slug(obj.name)}-{obj.guid[:8]}{SUFFIXES[fmt]}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(obj.text, encoding="utf-8")
            written.append(path)
            if len(objects) > 1:
                update("Writing", done, len(objects))
    errors().print(f"{len(written)} objects written under {escape(str(directory))}")
    return written


def slug(name: str) -> str:
    """A file name for an object's name: lower case, runs of other characters as `-`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed"


def _files(paths: list[Path]) -> list[Path]:
    try:
        files = document_files(paths)
    except FileNotFoundError as error:
        fail(str(error))
    if not files:
        fail("no .yaml, .yml or .json file found")
    return files


def _report(report: ImportReport, files: list[Path], *, json: bool, title: str) -> None:
    if json:
        print_json(report)
        return
    table = Table(title=title)
    for name in ("document", "kind", "name", "action", "changes", "error"):
        table.add_column(name, overflow="fold", max_width=MAX_CELL_WIDTH * 2 if name == "error" else None)
    per_source = Counter(item.source for item in report.items)
    seen: dict[int, int] = {}
    for item in report.items:
        position = seen[item.source] = seen.get(item.source, -1) + 1
        where = str(files[item.source]) if item.source < len(files) else str(item.source)
        if per_source[item.source] > 1:
            where += f" #{position + 1}"
        action = (
            Text("error", style="bold red")
            if item.error
            else Text(item.action, ACTION_STYLES.get(item.action, ""))
        )
        table.add_row(
            Text(where),
            Text(item.kind or ""),
            Text(item.name),
            action,
            Text(", ".join(item.changes)),
            Text(f"[{item.error.code}] {item.error.message}", style="red") if item.error else Text(""),
        )
    console().print(table)
    failed = len(report.failed)
    summary = (
        f"{len(report.items)} documents, {failed} failed" if failed else f"{len(report.items)} documents"
    )
    console().print(summary, style="red" if failed else "dim")
