"""Rate limiting of every route (native API, dialects, web pages) in one app-level dependency.

It runs before authentication, so it counts by what a request presents rather than by who that
turns out to be: the credential headers every dialect reads (`Authorization`, `X-Api-Key`), the
cookies (sessions), the key or token in the query string; a request with none of these (a public
dashboard link, a webhook whose token is in its path, a login form) counts per client address and
path. Only a digest of the credential is used as the counter's key: no secret reaches the store.
"""

from __future__ import annotations

import hashlib

from fastapi import Request

from openlytics.runtime.rate_limiter import RateLimiter

CREDENTIAL_HEADERS = ("authorization", "x-api-key", "cookie")
CREDENTIAL_PARAMETERS = ("api_key", "apikey", "token", "access_token", "auth_token")
UNLIMITED_PATHS = frozenset({"/healthz"})


def credential_key(request: Request) -> str:
    """The counter key of a request: a digest of its credentials, else of its address and path."""
    digest = hashlib.sha256()
    presented = False
    for name in CREDENTIAL_HEADERS:
        value = request.headers.get(name)
        if value:
            presented = True
            digest.update(f"{name}\0{value}\0".encode())
    for name in CREDENTIAL_PARAMETERS:
        value = request.query_params.get(name)
        if value:
            presented = True
            digest.update(f"?{name}\0{value}\0".encode())
    if not presented:
        address = request.client.host if request.client else "unknown"
        digest.update(f"address\0{address}\0{request.url.path}".encode())
    return digest.hexdigest()


async def limit_rate(request: Request) -> None:
    """Count this request against its credential's rate (`RateLimitedError`: 429 + Retry-After)."""
    if request.url.path in UNLIMITED_PATHS:
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.check(credential_key(request))
