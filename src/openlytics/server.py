"""`serve()`: run the server with uvicorn, print where it is and how to get in."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from openlytics.app import Openlytics
from openlytics.settings import Settings


def build_settings(
    *, host: str | None = None, port: int | None = None, data_dir: Path | str | None = None
) -> Settings:
    """Settings from the environment, overridden by explicit (non-None) arguments."""
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    return Settings(**overrides)


def banner(core: Openlytics, url: str) -> str:
    """What to print once the server is ready."""
    lines = [f"openlytics is running at {url}", f"  API docs: {url}/api/v1/docs"]
    boot = core.bootstrapped
    if boot is not None:
        lines.append(f"  admin: {boot.admin.email}")
        if core.settings.admin_api_key is None:
            lines.append(f"  admin API key (shown once, keep it): {boot.api_key.key}")
    else:
        lines.append("  admin API key: shown at first start (or set OPENLYTICS_ADMIN_API_KEY)")
    return "\n".join(lines)


def serve(
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | str | None = None,
    demo: bool = False,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Start the server in the foreground until interrupted; `workers` > 1 runs that many API
    processes on one port (PostgreSQL metadata and warehouse required: docs/scale-out.md)."""
    import uvicorn

    from openlytics.api.app import create_app
    from openlytics.runtime.gc_tuning import freeze_startup_objects, tune_for_server

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = build_settings(host=host, port=port, data_dir=data_dir)
    if workers > 1:
        _serve_processes(settings, workers=workers, demo=demo, log_level=log_level)
        return
    core = Openlytics(settings)

    tune_for_server()

    def on_started() -> None:
        if demo:
            from openlytics.demo import load_demo

            load_demo(core)
        freeze_startup_objects()
        print(banner(core, _shown_url(settings)), flush=True)

    app = create_app(settings, openlytics=core, on_started=on_started)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)


class SeveralProcessesError(RuntimeError):
    """Several API processes were asked for on a store only one process may open."""


def check_shareable(core: Openlytics) -> None:
    """Refuse several API processes where a file only one process may open is in use: SQLite
    metadata, or an organization whose warehouse is an embedded DuckDB file."""
    if core.db.is_sqlite:
        raise SeveralProcessesError(
            "several API processes need PostgreSQL metadata (OPENLYTICS_DATABASE_URL): "
            "an SQLite file serves one process"
        )
    on_duckdb = core.sources.organizations_on_embedded_warehouse()
    if on_duckdb:
        raise SeveralProcessesError(
            f"{len(on_duckdb)} organization(s) keep their warehouse in an embedded DuckDB file, which "
            "one process at a time may open; set OPENLYTICS_WAREHOUSE_URL before creating them, "
            "or run one process"
        )


HEALTHCHECK_SECONDS = 60


def _serve_processes(settings: Settings, *, workers: int, demo: bool, log_level: str) -> None:
    """Migrate and bootstrap once here, then let uvicorn run `workers` processes of the app."""
    import os

    import uvicorn

    core = Openlytics(settings)
    core.start()  # migrations, the first organization and its admin key, exactly once
    try:
        check_shareable(core)
        if demo:
            from openlytics.demo import load_demo

            load_demo(core)
        print(banner(core, _shown_url(settings)), flush=True)
        print(f"  {workers} API processes", flush=True)
    finally:
        core.stop()
    # The processes build their settings from the environment: hand them the command's options.
    os.environ["OPENLYTICS_HOST"] = settings.host
    os.environ["OPENLYTICS_PORT"] = str(settings.port)
    os.environ["OPENLYTICS_DATA_DIR"] = str(settings.data_dir)
    uvicorn.run(
        "openlytics.server:process_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        # uvicorn kills a process that does not answer its ping within this time (default 5 s),
        # including one still importing or starting on a busy machine, and starts another.
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )


def process_app() -> Any:
    """The ASGI app of one of several API processes (uvicorn's factory)."""
    from openlytics.api.app import create_app
    from openlytics.runtime.gc_tuning import freeze_startup_objects, tune_for_server

    tune_for_server()
    return create_app(build_settings(), on_started=freeze_startup_objects)


def _shown_url(settings: Settings) -> str:
    shown_host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1") else settings.host  # noqa: S104
    return f"http://{shown_host}:{settings.port}"
