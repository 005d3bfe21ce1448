"""Errors in the Redash shape: `{"message": ...}` with the status the clients check."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.errors import status_table
from openlytics.dialects.tonalytica.capabilities import CAPABILITIES

STATUS_BY_CODE: dict[str, int] = status_table(CAPABILITIES, conflict=400)


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """`{"message": ..., "code": ...}` (Redash clients read `message`)."""
    body: dict[str, Any] = {"message": message, "code": code}
    if "job_id" in details:
        body["job_id"] = details["job_id"]
    return JSONResponse(body, status_code=STATUS_BY_CODE.get(code, 500))
