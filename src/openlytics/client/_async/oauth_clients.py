"""OAuth client credentials: create, list and revoke clients that obtain access tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from openlytics.client.models import OAuthClient

from .http import AsyncHTTP


class AsyncOAuthClients:
    """`client.oauth_clients`: the caller's OAuth clients (admins may manage anyone's)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self) -> AsyncIterator[OAuthClient]:
        """The caller's active clients (admins: the organization's); secrets are never listed."""
        async for item in self._http.paginate("/oauth-clients"):
            yield OAuthClient.from_json(item)

    async def create(self, name: str = "", *, user_id: int | None = None) -> OAuthClient:
        """Create a client; its secret is in `.client_secret` of this answer and never shown again."""
        body: dict[str, Any] = {"name": name}
        if user_id is not None:
            body["user_id"] = user_id
        return OAuthClient.from_json(await self._http.request("POST", "/oauth-clients", json=body))

    async def revoke(self, client_pk: int) -> None:
        """Revoke a client (by its numeric `id`); the access tokens it obtained stop working."""
        await self._http.request("DELETE", f"/oauth-clients/{client_pk}")
