"""Short-lived URLs that authorise themselves: an expiry and an HMAC over what they reach.

Used where a client fetches or sends a file without its API key (vendor clients doing a bare
`requests.get`/`put`). The key derives from the server's secret and a purpose, so a signature made
for one purpose is worthless for another.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from openlytics.core.errors import PermissionDeniedError


class UrlSigner:
    """Sign and check `(subject, expires)` pairs for one purpose."""

    def __init__(self, secret: bytes, purpose: str, *, ttl_seconds: float) -> None:
        self._key = hashlib.sha256(f"openlytics-{purpose}:".encode() + secret).digest()
        self.ttl_seconds = ttl_seconds

    def sign(self, subject: str) -> tuple[int, str]:
        """An expiry (Unix seconds) and the signature of `subject` until then."""
        expires = int(time.time() + self.ttl_seconds)
        return expires, self._signature(subject, expires)

    def check(self, subject: str, expires: str, signature: str) -> None:
        """Refuse a malformed, tampered or expired signature (PermissionDeniedError)."""
        try:
            expiry = int(expires)
        except ValueError:
            raise PermissionDeniedError("use", "a malformed signature") from None
        if not hmac.compare_digest(self._signature(subject, expiry), signature):
            raise PermissionDeniedError("use", "a tampered signature")
        if expiry < time.time():
            raise PermissionDeniedError("use", "an expired signature")

    def _signature(self, subject: str, expires: int) -> str:
        return hmac.new(self._key, f"{subject}:{expires}".encode(), hashlib.sha256).hexdigest()
