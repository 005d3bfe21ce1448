"""Where the client's settings come from: arguments first, then the environment."""

from __future__ import annotations

import os

import httpx

from openlytics import __version__

URL_ENV = "OPENLYTICS_URL"
API_KEY_ENV = "OPENLYTICS_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
USER_AGENT = f"openlytics-python/{__version__}"


def resolve_base_url(url: str | None) -> str:
    """The API root (`.../api/v1`) from `url`, `$OPENLYTICS_URL` or the local default."""
    root = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    if root.endswith(API_PREFIX):
        root = root[: -len(API_PREFIX)]
    return root + API_PREFIX


def resolve_api_key(api_key: str | None) -> str | None:
    """The API key from `api_key` or `$OPENLYTICS_API_KEY`."""
    return api_key or os.environ.get(API_KEY_ENV) or None


def default_headers(api_key: str | None) -> dict[str, str]:
    """Headers sent with every request."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """An `httpx.Timeout` from seconds (None disables timeouts)."""
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
