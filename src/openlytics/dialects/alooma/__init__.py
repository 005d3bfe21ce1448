"""Alooma: event pipelines (inputs, Code Engine, mapper, restream queue, output) for the `alooma` client.

Mounted at `/alooma`; `alooma.Client(api_key=..., base_url="http://HOST:PORT/alooma")` (with or
without `account_name`) or with `username`/`password`. The webhook of a REST input is
`POST /alooma/inputs/rest/<token>`.
"""

from __future__ import annotations

from openlytics.dialects.alooma.capabilities import CAPABILITIES
from openlytics.dialects.alooma.errors import format_error
from openlytics.dialects.alooma.routes import build_router

__all__ = ["CAPABILITIES", "build_router", "format_error"]
