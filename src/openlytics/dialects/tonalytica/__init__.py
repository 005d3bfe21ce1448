"""TONalytica (a Redash-style API): queries, results, visualizations, dashboards, alerts.

Mounted at `/tonalytica`; `tonalytica-client` and `redash-toolbelt` talk to `/tonalytica/api/...`.
Routes live in `routes/`, vendor shapes in `wire.py`, the error shape in `errors.py`.
"""

from __future__ import annotations

from openlytics.dialects.tonalytica.capabilities import CAPABILITIES
from openlytics.dialects.tonalytica.errors import format_error
from openlytics.dialects.tonalytica.routes import build_router

__all__ = ["CAPABILITIES", "build_router", "format_error"]
