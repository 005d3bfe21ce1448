"""The SDK's exception tree, rooted at `OpenlyticsError` (modelled on httpx's).

```
OpenlyticsError
├── TransportError                 the server could not be reached or the connection broke
├── ResultNotLoadedError           async: rows were asked for before `await result.fetch_rows()`
├── MissingDependencyError         an optional extra (pyarrow, pandas) is not installed; also ImportError
├── QueryError                     a query produced no result (carries `job_id`), from a response or a job
│   ├── QueryFailedError           400 query_failed, or a job that ended in FAILURE
│   ├── QueryCancelledError        409 query_cancelled, or a job that ended CANCELLED
│   └── QueryTimeoutError          504 query_timeout, or the caller's wait ran out
└── APIStatusError                 the server answered with an error envelope
    ├── AuthenticationError        401 unauthenticated
    ├── PermissionDeniedError      403 permission_denied
    ├── NotFoundError              404 not_found
    ├── ConflictError              409 conflict
    ├── ValidationError            422 invalid_input
    ├── ResultTooLargeError        413 result_too_large
    ├── RateLimitedError           429 rate_limited
    └── ServerError                5xx
        └── SourceUnavailableError 502 source_unavailable
```

Every error has `.request` (None only when no request was made) and `.message`; errors built from an
error response also have `.response`, `.code` and `.details`.
"""

from __future__ import annotations

from typing import Any

import httpx


class OpenlyticsError(Exception):
    """Root of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.response = response
        self.code = code
        self.details: dict[str, Any] = details or {}

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the response, if there was one."""
        return self.response.status_code if self.response is not None else None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class TransportError(OpenlyticsError):
    """The request did not get an answer: connection refused, reset, timed out, ..."""


class ResultNotLoadedError(OpenlyticsError):
    """An async result's rows were read before they were fetched."""


class MissingDependencyError(OpenlyticsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class APIStatusError(OpenlyticsError):
    """The server answered with a non-success status and an error envelope."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, unknown, revoked or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the caller is known but may not do this."""


class NotFoundError(APIStatusError):
    """404: the object does not exist or is not visible to the caller."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class ValidationError(APIStatusError):
    """422: a field of the request is missing or ill-formed."""


class ResultTooLargeError(APIStatusError):
    """413: the result passed the server's row or byte limit."""


class RateLimitedError(APIStatusError):
    """429: too many requests; `retry_after` says how long the server asked to wait."""

    @property
    def retry_after(self) -> float | None:
        """Seconds from the `Retry-After` header, if present and numeric."""
        if self.response is None:
            return None
        return parse_retry_after(self.response.headers.get("retry-after"))


class QueryError(OpenlyticsError):
    """A query did not produce a result; `job_id` names the job when there was one."""

    def __init__(self, message: str, *, job_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if job_id is None and isinstance(self.details.get("job_id"), int):
            job_id = self.details["job_id"]
        self.job_id = job_id


class QueryFailedError(QueryError):
    """The engine rejected or failed the statement; `message` is the engine's message."""


class QueryCancelledError(QueryError):
    """The query was cancelled."""


class QueryTimeoutError(QueryError):
    """The query exceeded its time limit on the server, or the caller's wait ran out."""


class ServerError(APIStatusError):
    """5xx: the server failed."""


class SourceUnavailableError(ServerError):
    """502: the external data source could not be reached."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given as a number (HTTP dates are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


ERRORS_BY_CODE: dict[str, type[OpenlyticsError]] = {
    "unauthenticated": AuthenticationError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "invalid_input": ValidationError,
    "result_too_large": ResultTooLargeError,
    "rate_limited": RateLimitedError,
    "query_failed": QueryFailedError,
    "query_cancelled": QueryCancelledError,
    "query_timeout": QueryTimeoutError,
    "source_unavailable": SourceUnavailableError,
    "internal_error": ServerError,
}

ERRORS_BY_STATUS: dict[int, type[OpenlyticsError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ResultTooLargeError,
    422: ValidationError,
    429: RateLimitedError,
    502: SourceUnavailableError,
    504: QueryTimeoutError,
}

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "ConflictError",
    "MissingDependencyError",
    "NotFoundError",
    "OpenlyticsError",
    "PermissionDeniedError",
    "QueryCancelledError",
    "QueryError",
    "QueryFailedError",
    "QueryTimeoutError",
    "RateLimitedError",
    "ResultNotLoadedError",
    "ResultTooLargeError",
    "ServerError",
    "SourceUnavailableError",
    "TransportError",
    "ValidationError",
]
