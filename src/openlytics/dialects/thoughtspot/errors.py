"""Errors as one JSON shape for V1 and V2: `{"error": {"code", "message", "details"?}, "debug"}`.

ThoughtSpot's clients only look at the status (`raise_for_status`); the body says what went wrong
in words (`debug`, as ThoughtSpot's own errors carry it) and as our error code.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.errors import status_table
from openlytics.dialects.thoughtspot.capabilities import CAPABILITIES

STATUS_BY_CODE: dict[str, int] = status_table(CAPABILITIES)


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """Any failure under /thoughtspot."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthenticated" else None
    return JSONResponse(
        {"error": error, "debug": message}, status_code=STATUS_BY_CODE.get(code, 500), headers=headers
    )
