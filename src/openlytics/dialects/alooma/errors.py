"""Errors as the alooma client reads them: any non-2xx with a JSON body `{"message", "code", "error"}`.

The client treats 401 as "log in" (or "Invalid key or check account name." with a key) and 504 as
a timeout, so nothing else ever answers 504: a query timeout is a plain 500 here.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openlytics.dialects.alooma.capabilities import CAPABILITIES
from openlytics.dialects.errors import status_table

STATUS_BY_CODE: dict[str, int] = status_table(CAPABILITIES, query_timeout=500)
INVALID_KEY = "Invalid key or check account name."


def format_error(code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """Any failure under /alooma."""
    status = STATUS_BY_CODE.get(code, 500)
    shown = INVALID_KEY if status == 401 else message
    # `message` for people reading the client's exception; `error` as every dialect's envelope has it.
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"message": shown, "code": code, "error": error}, status_code=status)
