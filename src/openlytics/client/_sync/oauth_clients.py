# Generated from _async/oauth_clients.py by `python -m openlytics.client._unasync`; edit that file instead.
"""OAuth client credentials: create, list and revoke clients that obtain access tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openlytics.client.models import OAuthClient

from .http import HTTP


class OAuthClients:
    """`client.oauth_clients`: the caller's OAuth clients (admins may manage anyone's)."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self) -> Iterator[OAuthClient]:
        """The caller's active clients (admins: the organization's); secrets are never listed."""
        for item in self._http.paginate("/oauth-clients"):
            yield OAuthClient.from_json(item)

    def create(self, name: str = "", *, user_id: int | None = None) -> OAuthClient:
        """Create a client; its secret is in `.client_secret` of this answer and never shown again."""
        body: dict[str, Any] = {"name": name}
        if user_id is not None:
            body["user_id"] = user_id
        return OAuthClient.from_json(self._http.request("POST", "/oauth-clients", json=body))

    def revoke(self, client_pk: int) -> None:
        """Revoke a client (by its numeric `id`); the access tokens it obtained stop working."""
        self._http.request("DELETE", f"/oauth-clients/{client_pk}")
