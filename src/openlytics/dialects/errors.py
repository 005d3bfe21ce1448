"""The HTTP status of each core error code, as the vendor dialects answer it.

The dialects share one table (their clients expect 400 for bad input where the native API answers
422); each passes only where its vendor differs, e.g. `status_table(CAPABILITIES, conflict=400)`.
"""

from __future__ import annotations

from openlytics.dialects.capabilities import Capabilities

DIALECT_STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "query_failed": 400,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "query_cancelled": 409,
    "result_too_large": 413,
    "request_too_large": 413,
    "rate_limited": 429,
    "not_implemented": 501,
    "source_unavailable": 502,
    "interrupted": 503,
    "query_timeout": 504,
    "render_timeout": 504,
}


def status_table(capabilities: Capabilities, **overrides: int) -> dict[str, int]:
    """The shared table with the dialect's unauthenticated status and its `overrides`."""
    unknown = set(overrides) - set(DIALECT_STATUS_BY_CODE)
    if unknown:
        raise ValueError(f"unknown error codes: {', '.join(sorted(unknown))}")
    return {
        **DIALECT_STATUS_BY_CODE,
        "unauthenticated": capabilities.unauthenticated_status,
        **overrides,
    }
