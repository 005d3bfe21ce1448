"""Errors as one JSON shape: `{"success": false, "error": {"code", "message"}}`.

The token endpoint answers RFC 6749 errors instead (`oauth_error`), as OAuth clients expect.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.clicdata.capabilities import CAPABILITIES

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "query_failed": 400,
    "unauthenticated": CAPABILITIES.unauthenticated_status,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "query_cancelled": 409,
    "result_too_large": 413,
    "rate_limited": 429,
    "not_implemented": 501,
    "source_unavailable": 502,
    "interrupted": 503,
    "query_timeout": 504,
}


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
