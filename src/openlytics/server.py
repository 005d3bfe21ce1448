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
    log_level: str = "info",
) -> None:
    """Start the server in the foreground until interrupted."""
    import uvicorn

    from openlytics.api.app import create_app
    from openlytics.runtime.gc_tuning import freeze_startup_objects, tune_for_server

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = build_settings(host=host, port=port, data_dir=data_dir)
    core = Openlytics(settings)

    tune_for_server()

    def on_started() -> None:
        if demo:
            from openlytics.demo import load_demo

            load_demo(core)
        freeze_startup_objects()
        shown_host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1") else settings.host  # noqa: S104
        print(banner(core, f"http://{shown_host}:{settings.port}"), flush=True)

    app = create_app(settings, openlytics=core, on_started=on_started)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)
