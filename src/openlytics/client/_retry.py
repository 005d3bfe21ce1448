"""When to retry a request, and how long to wait first (exponential backoff with full jitter)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from .exceptions import parse_retry_after

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Nothing reached the server, so even a POST is safe to send again.
UNSENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout)
# The request may have reached the server; only idempotent methods are sent again.
RESENDABLE_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.NetworkError,
    httpx.TimeoutException,
    httpx.RemoteProtocolError,  # e.g. a keep-alive connection the server had just closed
)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries 429 (any method), 503 and broken connections (idempotent methods) up to `max_retries`."""

    max_retries: int
    base_delay: float = 0.25
    max_delay: float = 8.0
    # A longer Retry-After is not honoured by sleeping; the caller gets RateLimitedError instead.
    max_retry_after: float = 60.0

    def delay_after_status(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying after `response`, or None to give up."""
        if attempt >= self.max_retries:
            return None
        status = response.status_code
        method = response.request.method
        if status != 429 and not (status == 503 and method in IDEMPOTENT_METHODS):
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(attempt)

    def delay_after_error(self, error: BaseException | None, method: str, attempt: int) -> float | None:
        """Seconds to wait before retrying after a transport error, or None to give up."""
        if attempt >= self.max_retries or not isinstance(error, httpx.TransportError):
            return None
        if isinstance(error, UNSENT_ERRORS) or (
            method in IDEMPOTENT_METHODS and isinstance(error, RESENDABLE_ERRORS)
        ):
            return self.backoff(attempt)
        return None

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the `attempt`-th retry (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)
