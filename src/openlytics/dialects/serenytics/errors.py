"""Errors as the serenytics client reads them: `{"status": "error", "errors": [message]}`."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.serenytics.capabilities import CAPABILITIES

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "query_failed": 400,
    "conflict": 400,
    "unauthenticated": CAPABILITIES.unauthenticated_status,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "result_too_large": 413,
    "rate_limited": 429,
    "source_unavailable": 502,
    "interrupted": 503,
    "query_timeout": 504,
    "not_implemented": 501,
}


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """The client raises `errors[0]`."""
    body = {"status": "error", "errors": [message], "code": code}
    return JSONResponse(body, status_code=STATUS_BY_CODE.get(code, 500))


def functional_error(message: str) -> dict[str, Any]:
    """A failure reported in the body of a 200 answer, where the client checks `status`."""
    return {"status": "error", "errors": [message]}
