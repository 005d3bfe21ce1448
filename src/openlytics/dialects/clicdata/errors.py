"""Errors as one JSON shape: `{"success": false, "error": {"code", "message"}}`.

The token endpoint answers RFC 6749 errors instead (`oauth_error`), as OAuth clients expect.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.clicdata.capabilities import CAPABILITIES
from openlytics.dialects.errors import status_table

STATUS_BY_CODE: dict[str, int] = status_table(CAPABILITIES)


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """Any failure under /clicdata (except the token endpoint)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthenticated" else None
    return JSONResponse(
        {"success": False, "error": error}, status_code=STATUS_BY_CODE.get(code, 500), headers=headers
    )


def oauth_error(error: str, description: str, status: int) -> JSONResponse:
    """`{"error", "error_description"}` (RFC 6749 §5.2), never cached."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
