"""`openlytics serve`: run the server (needs `openlytics[server]`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlytics.cli._common import fail


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Interface to bind (default: settings).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default from settings).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where metadata, the warehouse and results live.")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load demo data at start.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, help="API processes on the port (>1 needs PostgreSQL metadata and warehouse)."
        ),
    ] = 1,
) -> None:
    """Run the openlytics server in the foreground; unset options come from OPENLYTICS_* settings."""
    try:
        from openlytics.server import serve as run_server
    except ImportError as exc:
        fail(f"the server is not installed ({exc.name}); install it with `pip install openlytics[server]`")
    from openlytics.server import SeveralProcessesError

    try:
        run_server(host=host, port=port, data_dir=data_dir, demo=demo, workers=workers)
    except SeveralProcessesError as exc:
        fail(str(exc))
