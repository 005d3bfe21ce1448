"""`openlytics pipeline ...`: inputs, event types, the transform, the restream queue and metrics."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, errors, fail
from openlytics.cli._render import print_json, print_models
from openlytics.cli.query_run import download_progress
from openlytics.client import Client, MetricPoint

app = typer.Typer(
    help="The event pipeline: inputs, event types, transform, restream, metrics.", no_args_is_help=True
)
inputs_app = typer.Typer(
    help="Webhooks, file drops and database tables feeding the pipeline.", no_args_is_help=True
)
code_app = typer.Typer(help="The transform (Code Engine): show, save, test.", no_args_is_help=True)
app.add_typer(inputs_app, name="inputs")
app.add_typer(code_app, name="code")

INPUT_COLUMNS = ("id", "name", "type", "status", "paused", "webhook_url", "last_success_at")
TYPE_COLUMNS = ("name", "state", "mapping_mode", "table_name", "input_name", "auto_mapping_error")
SAMPLE_COLUMNS = ("created_at", "event_type", "status", "error", "event")
SPARKS = "▁▂▃▄▅▆▇█"
InputArgument = Annotated[str, typer.Argument(help="Input name or id.")]


def resolve_input(client: Client, reference: str) -> int:
    """An input's id from what the user typed (a name is looked up)."""
    if reference.isdecimal():
        return int(reference)
    found = client.pipeline.inputs.find(reference)
    if found is None:
        fail(f"no input named {reference!r}")
    return found.id


def parse_config(pairs: list[str]) -> dict[str, Any]:
    """`["path=/data", "port=5432"]` -> `{"path": "/data", "port": 5432}` (JSON values when they parse)."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--config")
        try:
            parsed[key.strip()] = jsonlib.loads(value)
        except ValueError:
            parsed[key.strip()] = value
    return parsed


# ----- inputs -------------------------------------------------------------------------------------
@inputs_app.command("list")
def list_inputs(
    deleted: Annotated[bool, typer.Option("--deleted", help="Removed inputs too.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """List inputs."""
    with connect(url, api_key) as client:
        found = list(client.pipeline.inputs.list(include_deleted=deleted))
    if json:
        print_json(found)
    else:
        print_models(found, INPUT_COLUMNS, title="Inputs")


@inputs_app.command("create")
def create_input(
    name: Annotated[str, typer.Argument(help="The input's name (events get it as their type by default).")],
    type: Annotated[
        str, typer.Option("--type", "-t", help="REST (a webhook), FILE, POSTGRESQL, MYSQL.")
    ] = "REST",
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="KEY=VALUE of the configuration; repeatable.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Create an input; a REST input prints its webhook URL."""
    configuration = parse_config(config or [])
    with connect(url, api_key) as client:
        created = client.pipeline.inputs.create(name, type, configuration)
    if json:
        print_json(created)
        return
    console().print(f"Created {created.type} input [bold]{escape(created.name)}[/] (id {created.id}).")
    if created.webhook_url:
        console().print(f"Webhook: {escape(created.webhook_url)}", soft_wrap=True)


@inputs_app.command("pause")
def pause_input(input: InputArgument, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Pause an input (a webhook refuses events, polling stops)."""
    with connect(url, api_key) as client:
        done = client.pipeline.inputs.pause(resolve_input(client, input))
    console().print(f"Paused [bold]{escape(done.name)}[/].")


@inputs_app.command("resume")
def resume_input(input: InputArgument, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Resume a paused input."""
    with connect(url, api_key) as client:
        done = client.pipeline.inputs.resume(resolve_input(client, input))
    console().print(f"Resumed [bold]{escape(done.name)}[/].")


@inputs_app.command("delete")
def delete_input(input: InputArgument, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Remove an input (a webhook's token stops working)."""
    with connect(url, api_key) as client:
        client.pipeline.inputs.delete(resolve_input(client, input))
    console().print("Removed.")


@inputs_app.command("upload")
def upload_file(
    input: InputArgument,
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv (header row), .tsv, .json or .jsonl file (.gz too).", exists=True, dir_okay=False
        ),
    ],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Send a file's events to a FILE input (streamed, with a progress bar)."""
    with connect(url, api_key) as client:
        input_id = resolve_input(client, input)
        with download_progress(f"Uploading {file.name}") as progress:
            count = client.pipeline.inputs.upload(input_id, file, progress=progress)
    console().print(f"Queued {count:,} events from {escape(file.name)}.")


# ----- event types, samples, restream -------------------------------------------------------------
@app.command("event-types")
def event_types(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List event types with their state, mapping mode and table."""
    with connect(url, api_key) as client:
        found = list(client.pipeline.event_types.list())
    if json:
        print_json(found)
    else:
        print_models(found, TYPE_COLUMNS, title="Event types")


@app.command("samples")
def samples(
    event_type: Annotated[str | None, typer.Option("--event-type", "-e", help="Of one event type.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="VALID, TRANSFORM_ERROR, ...; repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many (newest first).")] = 10,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """The newest sample events and what became of them."""
    with connect(url, api_key) as client:
        found = client.pipeline.samples(event_type, status, limit=limit)
    if json:
        print_json(found)
    else:
        print_models(found, SAMPLE_COLUMNS, title="Samples")


@app.command("restream")
def restream(
    purge: Annotated[bool, typer.Option("--purge", help="Delete the queued events instead.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Only show the queue's size.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Send the events waiting in the restream queue through the pipeline again (or --purge them)."""
    with connect(url, api_key) as client:
        queue = client.pipeline.restream_queue()
        console().print(f"{queue.events:,} events ({queue.bytes:,} bytes) in the restream queue.")
        if show:
            return
        if purge:
            console().print(f"Purged {client.pipeline.purge_restream():,} events.")
        else:
            console().print(f"Restreamed {client.pipeline.restream():,} events.")


# ----- metrics ------------------------------------------------------------------------------------
@app.command("metrics")
def metrics(
    minutes: Annotated[int, typer.Option("--minutes", "-m", help="How far back.")] = 60,
    resolution: Annotated[int, typer.Option("--resolution", "-r", help="Minutes per point.")] = 1,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="A metric (INCOMING_EVENTS, ...); repeatable.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Pipeline metrics as sparklines: events in, loaded, errors, unmapped."""
    with connect(url, api_key) as client:
        found = client.pipeline.metrics(name or None, minutes=minutes, resolution=resolution)
    if json:
        print_json(found)
        return
    table = Table(title=f"Pipeline, last {minutes} min ({resolution} min per point)", title_justify="left")
    table.add_column("metric")
    table.add_column("", no_wrap=True)
    table.add_column("total", justify="right")
    table.add_column("last", justify="right")
    table.add_column("max", justify="right")
    for metric, points in found.series.items():
        values = [p.value for p in points if p.value is not None]
        is_count = not metric.endswith(("_RATE", "_AVG")) and not metric.startswith(("LATENCY", "EVENTS_IN"))
        total = _number(sum(values)) if is_count else Text("")
        last = _number(points[-1].value) if points else Text("")
        table.add_row(metric, sparkline(points), total, last, _number(max(values) if values else None))
    console().print(table)


def sparkline(points: list[MetricPoint], width: int = 60) -> Text:
    """Points as block characters (the last `width`), scaled to their maximum; gaps as spaces."""
    shown = points[-width:]
    top = max((p.value or 0 for p in shown), default=0)
    chars = []
    for p in shown:
        if p.value is None:
            chars.append(" ")
        elif top <= 0:
            chars.append(SPARKS[0])
        else:
            chars.append(SPARKS[min(len(SPARKS) - 1, int(p.value / top * (len(SPARKS) - 1) + 0.5))])
    return Text("".join(chars), style="cyan")


def _number(value: float | None) -> Text:
    if value is None:
        return Text("-", style="dim")
    if float(value).is_integer():
        return Text(f"{int(value):,}")
    return Text(f"{value:,.2f}")


# ----- code ---------------------------------------------------------------------------------------
@code_app.command("get")
def get_code(
    name: Annotated[str, typer.Argument(help="The module (main holds transform(event)).")] = "main",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Print a module's code."""
    with connect(url, api_key) as client:
        module = client.pipeline.code.get(name)
    if module.is_default:
        errors().print("(the default transform: events pass unchanged)", style="dim")
    console().print(Syntax(module.code, "python", background_color="default"))


@code_app.command("set")
def set_code(
    file: Annotated[Path, typer.Argument(help="A Python file.", exists=True, dir_okay=False)],
    name: Annotated[str, typer.Option("--name", "-n", help="The module to save it as.")] = "main",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Save a file as a module (main by default); code that does not compile is refused."""
    with connect(url, api_key) as client:
        client.pipeline.code.set(**{name: file.read_text()})
    console().print(f"Saved [bold]{escape(name)}[/] ({len(file.read_text().splitlines())} lines).")


@code_app.command("test")
def test_code(
    sample: Annotated[Path, typer.Argument(help="A JSON file with one event.", exists=True, dir_okay=False)],
    code: Annotated[
        Path | None,
        typer.Option("--code", help="Test this file as main instead of the saved one.", exists=True),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Run the transform on one event and show what it returns (saving nothing)."""
    try:
        event = jsonlib.loads(sample.read_text())
    except ValueError as exc:
        fail(f"{sample}: not JSON ({exc})")
    with connect(url, api_key) as client:
        run = client.pipeline.code.test(event, code.read_text() if code is not None else None)
    if json:
        print_json(run)
    else:
        if run.output:
            console().print(Text(run.output.rstrip("\n"), style="dim"))
        if run.error is not None:
            errors().print(Text(run.error.rstrip("\n"), style="red"))
        elif run.result is None:
            console().print("The transform dropped the event (returned None).")
        else:
            console().print_json(jsonlib.dumps(run.result, default=str))
        console().print(f"{run.runtime_ms:.1f} ms", style="dim")
    if run.error is not None:
        raise typer.Exit(1)
