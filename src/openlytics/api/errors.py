"""One table from core errors to HTTP status, and the JSON error envelope of the native API."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from openlytics.core.errors import OpenlyticsError, RateLimitedError

log = logging.getLogger(__name__)

NUMERIC_VALUE_OUT_OF_RANGE = "22003"  # PostgreSQL's SQLSTATE

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 422,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "query_cancelled": 409,
    "result_too_large": 413,
    "request_too_large": 413,
    "rate_limited": 429,
    "query_failed": 400,
    "interrupted": 503,
    "source_unavailable": 502,
    "query_timeout": 504,
    "render_timeout": 504,
    "not_implemented": 501,
    "method_not_allowed": 405,
    "error": 500,
    "internal_error": 500,
}


def status_for(code: str) -> int:
    """The HTTP status of an error code."""
    return STATUS_BY_CODE.get(code, 500)


def error_response(code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    """`{"error": {"code", "message", "details"}}` with the status of `code`."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthenticated" else None
    return JSONResponse({"error": body}, status_code=status_for(code), headers=headers)


# A dialect's error shape: (code, message, details) -> the response its clients expect.
ErrorFormatter = Callable[[str, str, dict[str, Any]], Response]


# The answer to an error at a path: (path, code, message, details) -> the response of that path's API.
PathResponder = Callable[[str, str, str, dict[str, Any] | None], Response]


def path_responder(dialect_formatters: Mapping[str, ErrorFormatter] | None = None) -> PathResponder:
    """Errors in the native envelope, or in the shape of the dialect whose prefix the path has."""
    formatters = dict(dialect_formatters or {})

    def respond(path: str, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
        for prefix, formatter in formatters.items():
            if path == prefix or path.startswith(prefix + "/"):
                response = formatter(code, message, details or {})
                break
        else:
            response = error_response(code, message, details)
        if code == "request_too_large":
            response.headers["Connection"] = "close"  # the rest of the body is not read
        return response

    return respond


def install_error_handlers(app: FastAPI, respond_at: PathResponder) -> None:
    """Register the handlers that turn every failure into the JSON envelope (or a dialect's shape)."""

    def respond(request: Request, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
        return respond_at(request.url.path, code, message, details)

    @app.exception_handler(OpenlyticsError)
    async def _domain(request: Request, exc: OpenlyticsError) -> Response:
        response = respond(request, exc.code, exc.message, exc.details)
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "request"
        return respond(request, "invalid_input", f"{field}: {first.get('msg', 'invalid')}", {"field": field})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(
            exc.status_code, "error"
        )
        response = respond(request, code, str(exc.detail))
        response.status_code = exc.status_code
        return response

    def out_of_range(request: Request, exc: Exception) -> Response:
        log.info("number out of range in %s: %s", request.url.path, exc)
        message = "a number in the request is out of range"
        return respond(request, "invalid_input", message, {"field": "request"})

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # A number past what SQLite holds (64-bit integers), e.g. an id of 30 digits.
        return out_of_range(request, exc)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # PostgreSQL: a number past its column's type (ids are 32-bit), or text with a NUL character
        # (which PostgreSQL's text cannot hold, refused by the driver); anything else is a bug.
        if getattr(exc.orig, "sqlstate", None) == NUMERIC_VALUE_OUT_OF_RANGE:
            return out_of_range(request, exc)
        if "NUL (0x00)" in str(exc.orig):
            log.info("NUL character in %s", request.url.path)
            message = "text in the request contains a NUL character, which cannot be stored"
            return respond(request, "invalid_input", message, {"field": "request"})
        log.exception("unhandled error", exc_info=exc)
        return respond(request, "internal_error", "internal server error")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return respond(request, "internal_error", "internal server error")
