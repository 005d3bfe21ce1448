"""Errors in the Redash shape: `{"message": ...}` with the status the clients check."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.tonalytica.capabilities import CAPABILITIES

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "query_failed": 400,
    "conflict": 400,
    "unauthenticated": CAPABILITIES.unauthenticated_status,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "query_cancelled": 409,
    "result_too_large": 413,
    "rate_limited": 429,
    "source_unavailable": 502,
    "interrupted": 503,
    "query_timeout": 504,
    "not_implemented": 501,
}


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """`{"message": ..., "code": ...}` (Redash clients read `message`)."""
    body: dict[str, Any] = {"message": message, "code": code}
    if "job_id" in details:
        body["job_id"] = details["job_id"]
    return JSONResponse(body, status_code=STATUS_BY_CODE.get(code, 500))
