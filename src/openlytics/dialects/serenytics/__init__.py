"""Serenytics: storage data sources, the JSON query endpoint, scripts, web apps and e-mail.

Mounted at `/serenytics`; the `serenytics` client is pointed here with
`PYTHON_CLIENT_API_DOMAIN=http://HOST:PORT/serenytics`.
"""

from __future__ import annotations

from openlytics.dialects.serenytics.capabilities import CAPABILITIES
from openlytics.dialects.serenytics.errors import format_error
from openlytics.dialects.serenytics.routes import build_router
from openlytics.dialects.serenytics.script_environment import script_environment

__all__ = ["CAPABILITIES", "build_router", "format_error", "script_environment"]
