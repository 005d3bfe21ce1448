"""`openlytics scheduler`: fire schedules and poll pipeline inputs without serving the API."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from openlytics.cli._common import fail


def scheduler(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The data directory the servers share.")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "info",
) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl-C; settings from OPENLYTICS_*.

    Run any number of them: with PostgreSQL metadata one leads and the others wait to take over
    (docs/scale-out.md); API processes then run with OPENLYTICS_SCHEDULER_ENABLED=false."""
    try:
        from openlytics.app import Openlytics
        from openlytics.dialects.contributions import install_dialects
        from openlytics.server import build_settings
    except ImportError as exc:
        fail(f"the server is not installed ({exc.name}); install it with `pip install openlytics[server]`")
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = build_settings(data_dir=data_dir)
    core = Openlytics(settings)
    install_dialects(core)
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    core.start_scheduler()
    print("openlytics scheduler is running", flush=True)
    try:
        stopping.wait()
    finally:
        core.stop()
