"""`openlytics worker`: run query jobs, script runs and (queue `pipeline`) the event pipeline's
micro-batches for servers with the celery executor (docs/scale-out.md)."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from openlytics.cli._common import fail


def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated queues to take jobs from.")
    ] = "queries,scripts,loads,emails,renders,pipeline",
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Jobs at once (default: executor_workers)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The data directory the servers share (results).")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "info",
) -> None:
    """Run query jobs in the foreground until SIGTERM; unset options come from OPENLYTICS_* settings.

    Needs OPENLYTICS_EXECUTOR=celery, the broker and the metadata database of the servers."""
    try:
        from openlytics.app import Openlytics
        from openlytics.dialects.contributions import install_dialects
        from openlytics.runtime.celery_app import run_worker
        from openlytics.runtime.celery_executor import CeleryExecutor
        from openlytics.server import build_settings
    except ImportError as exc:
        fail(f"the worker is not installed ({exc.name}): `pip install openlytics[distributed]`")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names:
        fail("--queues names no queue")
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    settings = build_settings(data_dir=data_dir)
    if settings.executor != "celery":
        fail("a worker needs OPENLYTICS_EXECUTOR=celery (and OPENLYTICS_BROKER_URL)")
    core = Openlytics(settings)
    install_dialects(core)
    assert isinstance(core.executor, CeleryExecutor)
    code = 1
    try:
        core.start_worker(pipeline="pipeline" in names)
        code = run_worker(
            core.executor.app,
            hostname=f"openlytics-{os.getpid()}@{socket.gethostname()}",
            queues=names,
            concurrency=concurrency or settings.executor_workers,
            # Stopping interrupts running statements: their jobs fail as interrupted, as on a server.
            on_shutdown=lambda: core.runner.interrupt_all("shutdown"),
            loglevel=log_level.upper(),
        )
    finally:
        core.stop()
    raise typer.Exit(code)
