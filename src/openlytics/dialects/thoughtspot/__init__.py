"""ThoughtSpot (REST API V1 and V2): sessions, tokens, trusted authentication, users and groups.

Mounted at `/thoughtspot`; the client is pointed here with
`TSRestApiV1(server_url="http://HOST:PORT/thoughtspot")` (V1 under `callosum/v1/tspublic/v1/`) and
`TSRestApiV2(server_url=...)` (V2 under `api/rest/2.0/`).
"""

from __future__ import annotations

from openlytics.dialects.thoughtspot.capabilities import CAPABILITIES
from openlytics.dialects.thoughtspot.errors import format_error
from openlytics.dialects.thoughtspot.routes import build_router

__all__ = ["CAPABILITIES", "build_router", "format_error"]
