"""`openlytics scripts ...`: Python the server runs in its sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, errors, fail
from openlytics.cli._render import print_json, print_models
from openlytics.cli.query_run import parse_parameters
from openlytics.client import Client, ScriptRun

app = typer.Typer(help="Store, run and inspect server-side Python scripts.", no_args_is_help=True)

COLUMNS = ("id", "name", "kind", "cpu_seconds", "wall_seconds", "memory_mb", "updated_at")
RUN_COLUMNS = ("id", "status", "return_code", "started_at", "finished_at", "error")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
ScriptArgument = Annotated[str, typer.Argument(help="Script name, id or UUID.")]


def resolve(client: Client, reference: str) -> int | str:
    """A script's id or UUID from what the user typed (a name is looked up)."""
    if reference.isdecimal() or UUID_RE.match(reference):
        return reference
    found = client.scripts.find(reference)
    if found is None:
        fail(f"no script named {reference!r}")
    return found.id


@app.command("list")
def list_scripts(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List scripts."""
    with connect(url, api_key) as client:
        scripts = list(client.scripts.list())
    if json:
        print_json(scripts)
    else:
        print_models(scripts, COLUMNS, title="Scripts")


@app.command("create")
def create_script(
    file: Annotated[Path, typer.Argument(help="A Python file.", exists=True, dir_okay=False)],
    name: Annotated[str | None, typer.Option("--name", help="Default: the file's name.")] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Store a Python file as a script."""
    with connect(url, api_key) as client:
        script = client.scripts.create(name or file.stem, file.read_text(encoding="utf-8"))
    console().print(f"Created script [bold]{escape(script.name)}[/] (id {script.id}).")


@app.command("run")
def run_script(
    script: ScriptArgument,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE; repeatable.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the end; print its output.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Run a script with parameters."""
    parameters = parse_parameters(param or [])
    with connect(url, api_key, timeout=3600.0 if wait else 30.0) as client:
        run = client.scripts.run(resolve(client, script), parameters, wait=wait)
    if json:
        print_json(run)
    elif wait:
        _print_run(run)
    else:
        console().print(f"Started run [bold]{run.id}[/] ({run.status}).")
    if wait and run.status != "success":
        raise typer.Exit(1)


@app.command("logs")
def script_logs(
    script: ScriptArgument,
    limit: Annotated[int, typer.Option("--limit", help="How many runs; 1 prints its output.")] = 1,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """The latest runs of a script; the last one with its output."""
    with connect(url, api_key) as client:
        runs = list(client.scripts.runs(resolve(client, script), limit=limit))
    if json:
        print_json(runs)
    elif not runs:
        console().print("No runs yet.")
    elif limit == 1:
        _print_run(runs[0])
    else:
        print_models(runs, RUN_COLUMNS, title="Runs")


def _print_run(run: ScriptRun) -> None:
    """The run's stdout on stdout, its stderr on stderr, and one status line."""
    if run.stdout:
        console().out(run.stdout, end="", highlight=False)
    if run.stderr:
        errors().out(run.stderr, end="", highlight=False)
    detail = f": {run.error}" if run.error else ""
    errors().print(f"run {run.id} {escape(run.status)}{escape(detail)}")
