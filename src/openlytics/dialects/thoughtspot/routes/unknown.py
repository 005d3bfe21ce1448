"""Any other path: 501 in the dialect's error shape, logged (moto's habit), so a client fails clearly."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openlytics.dialects.thoughtspot.errors import format_error

log = logging.getLogger(__name__)
router = APIRouter()


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_implemented(path: str, request: Request) -> JSONResponse:
    """501 with `{"error": {"code": "not_implemented", ...}}`."""
    log.warning("thoughtspot dialect: %s /%s is not implemented", request.method, path)
    message = f"the thoughtspot dialect does not implement {request.method} /{path} yet"
    return format_error("not_implemented", message, {})
