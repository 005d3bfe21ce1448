"""Requests per credential, counted where every API process sees the same count (docs/security.md).

A sliding-window counter of the `limits` library, in this process's memory (one process: the
embedded default) or in Redis (many API processes: the broker, or `OPENLYTICS_RATE_LIMITS__STORAGE_URL`).
The limiter fails open: when its storage cannot be reached, requests are let through and the
failure is logged (at most once a minute) — a Redis restart must not take the API down with it.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from openlytics.core.errors import RateLimitedError
from openlytics.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "openlytics-rate"
_WARN_EVERY_SECONDS = 60.0


def storage_url_for(settings: Settings) -> str:
    """Where the counters live: the configured URL, else the broker when it is Redis, else memory."""
    configured = settings.rate_limits.storage_url.strip()
    if configured:
        return configured
    if settings.executor == "celery" and settings.broker_url.startswith(("redis://", "rediss://")):
        return settings.broker_url
    return "memory://"


class RateLimiter:
    """`await check(key)` raises `RateLimitedError` once `key` used up its rate."""

    def __init__(self, rate: str, storage_url: str = "memory://", *, enabled: bool = True) -> None:
        try:
            self.item: RateLimitItem = parse(rate)
        except ValueError as exc:
            raise ValueError(f"rate limit {rate!r}: {exc} (e.g. '6000/minute')") from None
        self.rate = rate
        self.enabled = enabled
        self.storage_url = storage_url
        options = {"key_prefix": KEY_PREFIX}
        if storage_url.startswith(("redis://", "rediss://")):
            options["implementation"] = "redispy"  # the redis package Celery already installs
        try:
            self._storage = storage_from_string(f"async+{storage_url}", **options)
        except ConfigurationError as exc:
            raise ValueError(f"rate limit storage {storage_url!r}: {exc}") from None
        self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        self._warned_at = -math.inf

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """The limiter `settings.rate_limits` describes."""
        limits = settings.rate_limits
        return cls(limits.per_credential, storage_url_for(settings), enabled=limits.enabled)

    async def check(self, key: str) -> None:
        """Count one request of `key`; `RateLimitedError` (with seconds to wait) past the rate."""
        if not self.enabled:
            return
        try:
            if await self._strategy.hit(self.item, key):
                return
            stats = await self._strategy.get_window_stats(self.item, key)
        except Exception as exc:  # noqa: BLE001 - fail open: an unreachable store limits nothing
            now = time.monotonic()
            if now - self._warned_at > _WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("rate limits not enforced: %s unreachable (%s)", self.storage_url, exc)
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimitedError(self.rate, retry_after)
