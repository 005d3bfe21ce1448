"""Alooma: event pipelines (inputs, Code Engine, mapper, restream queue, output) for the `alooma` client.

Mounted at `/alooma`; `alooma.Client(api_key=..., base_url="http://HOST:PORT/alooma")` (with or
without `account_name`) or with `username`/`password`. The webhook of a REST input is
`POST /alooma/inputs/rest/<token>`; `install(core)` tells the core that address, so a REST input's
configuration shows it as `url`.
"""

from __future__ import annotations

from openlytics.app import Openlytics
from openlytics.dialects.alooma.capabilities import CAPABILITIES
from openlytics.dialects.alooma.errors import format_error
from openlytics.dialects.alooma.routes import build_router

__all__ = ["CAPABILITIES", "build_router", "format_error", "install", "webhook_url"]

WEBHOOK_PATH = "inputs/rest"


def webhook_url(public_url: str, token: str) -> str:
    """Where a REST input's events are posted: `<public_url>/alooma/inputs/rest/<token>`."""
    return f"{public_url.rstrip('/')}{CAPABILITIES.prefix}/{WEBHOOK_PATH}/{token}"


def install(core: Openlytics) -> None:
    """What the dialect contributes to the core: the webhook address of REST inputs."""
    core.pipeline_inputs.webhook_url = lambda token: webhook_url(core.settings.public_url, token)
