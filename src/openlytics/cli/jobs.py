"""`openlytics jobs ...`: executions."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_model

app = typer.Typer(help="Inspect and cancel jobs.", no_args_is_help=True)

IdArgument = Annotated[int, typer.Argument(help="Job id.")]


@app.command("show")
def show_job(
    job_id: IdArgument, url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False
) -> None:
    """Show a job's status."""
    with connect(url, api_key) as client:
        job = client.jobs.get(job_id)
    if json:
        print_json(job)
    else:
        print_model(job)


@app.command("cancel")
def cancel_job(job_id: IdArgument, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Cancel a running job."""
    with connect(url, api_key) as client:
        job = client.jobs.cancel(job_id)
    console().print(f"Job [bold]{job.id}[/] is {job.status_name}.")
