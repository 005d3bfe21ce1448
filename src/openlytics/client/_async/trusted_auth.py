"""The organization's trusted-authentication key (admins): show it, rotate it, turn it off."""

from __future__ import annotations

from openlytics.client.models import TrustedAuthKey

from .http import AsyncHTTP


class AsyncTrustedAuth:
    """`client.trusted_auth`: the key a backend uses to obtain tokens for the organization's users."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def show(self) -> TrustedAuthKey:
        """The current key (`enabled` is False and `secret_key` None until a first rotation)."""
        return TrustedAuthKey.from_json(await self._http.request("GET", "/trusted-auth"))

    async def rotate(self) -> TrustedAuthKey:
        """Make a new key (enabling trusted authentication); the previous one stops working at once."""
        return TrustedAuthKey.from_json(await self._http.request("POST", "/trusted-auth"))

    async def disable(self) -> TrustedAuthKey:
        """Turn trusted authentication off: the key stops working at once."""
        return TrustedAuthKey.from_json(await self._http.request("DELETE", "/trusted-auth"))
