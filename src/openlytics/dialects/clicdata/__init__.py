"""ClicData: datasets (custom tables and rebuilds), account usage, dashboards, schedules, teams, users.

Mounted at `/clicdata`; the wrapper is pointed here with
`SessionManager(client_id=..., client_secret=..., url="http://HOST:PORT/clicdata/")`.
"""

from __future__ import annotations

from openlytics.dialects.clicdata.capabilities import CAPABILITIES
from openlytics.dialects.clicdata.errors import format_error
from openlytics.dialects.clicdata.routes import build_router

__all__ = ["CAPABILITIES", "build_router", "format_error"]
