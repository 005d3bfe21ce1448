"""Errors as the serenytics client reads them: `{"status": "error", "errors": [message]}`."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.errors import status_table
from openlytics.dialects.serenytics.capabilities import CAPABILITIES

STATUS_BY_CODE: dict[str, int] = status_table(CAPABILITIES, conflict=400)


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """The client raises `errors[0]`."""
    body = {"status": "error", "errors": [message], "code": code}
    return JSONResponse(body, status_code=STATUS_BY_CODE.get(code, 500))


def functional_error(message: str) -> dict[str, Any]:
    """A failure reported in the body of a 200 answer, where the client checks `status`."""
    return {"status": "error", "errors": [message]}
