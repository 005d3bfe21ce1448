"""Typed domain errors. They carry fields, not formatted text; adapters format them.

`TransientError` marks failures worth retrying; `TerminalError` marks the rest.
"""

from __future__ import annotations

from typing import Any


class TransientError:
    """Mixin: retrying later may succeed."""


class TerminalError:
    """Mixin: retrying will not help."""


class OpenlyticsError(Exception):
    """Root of every domain error."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(OpenlyticsError, TerminalError):
    """An object does not exist, or is not visible to the caller (never reveals which)."""

    code = "not_found"

    def __init__(self, kind: str, id: object) -> None:
        super().__init__(f"{kind} {id} not found", kind=kind, id=str(id))
        self.kind = kind
        self.id = id


class AuthenticationError(OpenlyticsError, TerminalError):
    """No valid credential was presented."""

    code = "unauthenticated"

    def __init__(self, reason: str = "authentication required") -> None:
        super().__init__(reason)


class PermissionDeniedError(OpenlyticsError, TerminalError):
    """The caller is known but may not do this."""

    code = "permission_denied"

    def __init__(self, action: str, resource: str = "") -> None:
        where = f" on {resource}" if resource else ""
        super().__init__(f"not allowed to {action}{where}", action=action, resource=resource)
        self.action = action
        self.resource = resource


class InvalidInputError(OpenlyticsError, TerminalError):
    """A field of the request is missing or ill-formed."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class IncompatibleValueError(InvalidInputError):
    """A value being loaded does not fit its column's type; names the row (0-based) and the column."""

    def __init__(self, *, row: int | None, column: str, value: object, expected_type: str) -> None:
        where = f"row {row}, " if row is not None else ""
        reason = f"{where}column {column!r}: value {value!r} is not a valid {expected_type}"
        OpenlyticsError.__init__(
            self,
            reason,
            field=column,
            reason=reason,
            row=row,
            column=column,
            value=None if value is None else str(value),
            expected_type=expected_type,
        )
        self.field = column
        self.reason = reason
        self.row = row
        self.column = column
        self.value = value
        self.expected_type = expected_type


class ConflictError(OpenlyticsError, TerminalError):
    """The request conflicts with the current state (duplicate name, wrong state)."""

    code = "conflict"


class QueryFailedError(OpenlyticsError, TerminalError):
    """The engine rejected or failed the statement; carries the engine's message."""

    code = "query_failed"

    def __init__(self, engine_message: str) -> None:
        super().__init__(engine_message, engine_message=engine_message)
        self.engine_message = engine_message


class QueryTimeoutError(OpenlyticsError, TerminalError):
    """A statement ran longer than its time limit and was interrupted."""

    code = "query_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"query exceeded its time limit of {seconds:g} s", seconds=seconds)
        self.seconds = seconds


class QueryCancelledError(OpenlyticsError, TerminalError):
    """A statement was cancelled by a user."""

    code = "query_cancelled"

    def __init__(self) -> None:
        super().__init__("query was cancelled")


class InterruptedJobError(OpenlyticsError, TransientError):
    """A job was stopped because its process stopped; running it again may succeed."""

    code = "interrupted"

    def __init__(self) -> None:
        super().__init__("interrupted: the server stopped while the query ran; run it again")


class ResultTooLargeError(OpenlyticsError, TerminalError):
    """A result passed the configured row or byte limit."""

    code = "result_too_large"

    def __init__(self, limit: str, value: int) -> None:
        super().__init__(f"result exceeds the limit of {value:,} {limit}", limit=limit, value=value)


class SourceUnavailableError(OpenlyticsError, TransientError):
    """An external data source cannot be reached."""

    code = "source_unavailable"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"data source {source} is unreachable: {reason}", source=source, reason=reason)
        self.reason = reason


class RateLimitedError(OpenlyticsError, TransientError):
    """The caller sent more requests than its rate allows; `retry_after` seconds until it may again."""

    code = "rate_limited"

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(
            f"too many requests (at most {limit} per credential); retry in {retry_after} s",
            limit=limit,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class RequestTooLargeError(OpenlyticsError, TerminalError):
    """A request body is larger than the server accepts for its kind (JSON, or a file)."""

    code = "request_too_large"

    def __init__(self, limit: int, kind: str) -> None:
        super().__init__(
            f"the request body is larger than {limit:,} bytes, the limit for {kind}", limit=limit
        )
