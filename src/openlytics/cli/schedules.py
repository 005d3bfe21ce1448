"""`openlytics schedules ...`: periodic refreshes."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_models

app = typer.Typer(help="List and trigger schedules.", no_args_is_help=True)

COLUMNS = ("id", "name", "kind", "target_id", "interval_seconds", "cron", "enabled", "next_run_at")


@app.command("list")
def list_schedules(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """List schedules."""
    with connect(url, api_key) as client:
        schedules = list(client.schedules.list())
    if json:
        print_json(schedules)
    else:
        print_models(schedules, COLUMNS, title="Schedules")


@app.command("trigger")
def trigger_schedule(
    schedule_id: Annotated[int, typer.Argument(help="Schedule id.")],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Fire a schedule now."""
    with connect(url, api_key) as client:
        run = client.schedules.trigger(schedule_id)
    job = f", job {run.job_id}" if run.job_id is not None else ""
    console().print(f"Triggered schedule [bold]{schedule_id}[/] (run {run.id}{job}).")
