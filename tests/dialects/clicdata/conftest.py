"""The ClicData dialect through a minimal wrapper-like client (`wrapper_client.py`) on a live server.

Each role of a fresh organization gets an OAuth client made through the native API
(`POST /api/v1/oauth-clients`); the wrapper's `Session` exchanges its credentials for a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests

from openlytics.testing import LiveServer
from tests.conftest import Org
from tests.dialects.clicdata import wrapper_client as wc

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class ClicData:
    """One organization seen through the dialect."""

    url: str  # ends with "/", as the wrapper needs
    org: Org
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    _sessions: dict[str, wc.Session] = field(default_factory=dict)

    def session(self, role: str = "admin") -> wc.Session:
        """A wrapper session for a role (one per role, reused)."""
        if role not in self._sessions:
            client_id, secret = self.credentials_of(role)
            self._sessions[role] = wc.Session(client_id=client_id, client_secret=secret, url=self.url)
        return self._sessions[role]

    def credentials_of(self, role: str) -> tuple[str, str]:
        if role not in self.credentials:
            self.credentials[role] = new_oauth_client(getattr(self.org, role))
        return self.credentials[role]

    def manager(self, role: str = "admin") -> None:
        """Bind the role's session as the wrapper's `SessionManager` does."""
        client_id, secret = self.credentials_of(role)
        wc.SessionManager(client_id=client_id, client_secret=secret, url=self.url)

    def call(self, method: str, suffix: str, role: str = "admin", **kwargs: Any) -> requests.Response:
        """A raw request with the role's bearer token (for what the wrapper never sends)."""
        session = self.session(role)
        session.reinitialize()
        headers = {**session.header, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + suffix, headers=headers, timeout=120, **kwargs)


def new_oauth_client(native: httpx.Client) -> tuple[str, str]:
    """client_id and client_secret of a new OAuth client of the native client's user."""
    created = native.post("/api/v1/oauth-clients", json={"name": "clicdata wrapper"})
    assert created.status_code == 201, created.text
    return created.json()["client_id"], created.json()["client_secret"]


@pytest.fixture
def cd(server: LiveServer, new_org: Org) -> Iterator[ClicData]:
    yield ClicData(f"{server.url}/clicdata/", new_org)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after checking the signature)."""
    assert data[:8] == PNG_SIGNATURE, data[:16]
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
