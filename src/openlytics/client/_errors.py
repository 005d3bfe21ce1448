"""The two boundaries where foreign failures become `OpenlyticsError`s.

`map_transport_errors` turns httpx's exceptions into `TransportError` (httpx does the same for httpcore
in `map_httpcore_exceptions`); `error_from_response` turns an error envelope into its typed exception.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx

from .exceptions import (
    ERRORS_BY_CODE,
    ERRORS_BY_STATUS,
    APIStatusError,
    OpenlyticsError,
    QueryCancelledError,
    QueryError,
    QueryFailedError,
    ServerError,
    TransportError,
)
from .models import Job, JobStatus


@contextlib.contextmanager
def map_transport_errors(request: httpx.Request | None = None) -> Iterator[None]:
    """Re-raise httpx's transport and decoding failures as `TransportError`."""
    try:
        yield
    except httpx.TransportError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}", request=_request_of(exc, request)) from exc
    except httpx.StreamError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}", request=request) from exc


def _request_of(exc: httpx.TransportError, fallback: httpx.Request | None) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises when the exception was built without a request
        return fallback


def error_from_response(response: httpx.Response) -> OpenlyticsError:
    """The typed exception for an error response (its body must already be read)."""
    code, message, details = _parse_envelope(response)
    cls: type[OpenlyticsError] | None = ERRORS_BY_CODE.get(code) if code else None
    if cls is None:
        cls = ERRORS_BY_STATUS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else APIStatusError
    kwargs: dict[str, Any] = {
        "request": response.request,
        "response": response,
        "code": code,
        "details": details,
    }
    if issubclass(cls, QueryError):
        return cls(message, job_id=None, **kwargs)
    return cls(message, **kwargs)


def _parse_envelope(response: httpx.Response) -> tuple[str | None, str, dict[str, Any]]:
    """`(code, message, details)` from `{"error": {...}}`, tolerating non-JSON bodies."""
    fallback = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return None, text[:500] or fallback, {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        details = error.get("details")
        return (
            error.get("code"),
            str(error.get("message") or fallback),
            details if isinstance(details, dict) else {},
        )
    if isinstance(body, dict) and "detail" in body:  # a framework-level error, e.g. FastAPI's 422
        detail = body["detail"]
        return None, detail if isinstance(detail, str) else json.dumps(detail), {"detail": detail}
    return None, fallback, {}


def error_from_job(job: Job, request: httpx.Request | None = None) -> OpenlyticsError:
    """The typed exception for a job that finished without a result (seen by polling `request`)."""
    code = job.error_code or ("query_cancelled" if job.status is JobStatus.CANCELLED else "query_failed")
    message = job.error or f"job {job.id} ended {job.status_name}"
    cls: type[OpenlyticsError] = ERRORS_BY_CODE.get(code, QueryFailedError)
    if job.status is JobStatus.CANCELLED:
        cls = QueryCancelledError
    kwargs: dict[str, Any] = {
        "request": request,
        "code": code,
        "details": {"job_id": job.id},
    }
    if issubclass(cls, QueryError):
        return cls(message, job_id=job.id, **kwargs)
    return cls(message, **kwargs)
