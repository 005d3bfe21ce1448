"""Fixtures for the SDK tests: a scripted local HTTP server, and SDK clients on the live server
(`server` and `new_org` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from openlytics.client import Client
from tests.client.scripted_server import ScriptedServer


@pytest.fixture(scope="session")
def _scripted_session() -> Iterator[ScriptedServer]:
    with ScriptedServer().running() as server:
        yield server


@pytest.fixture
def scripted(_scripted_session: ScriptedServer) -> ScriptedServer:
    """The scripted server with an empty script (answers `{}` with 200)."""
    _scripted_session.script()
    return _scripted_session


@dataclass
class SdkOrg:
    """A fresh organization seen through the SDK, one client per role."""

    url: str
    admin: Client
    editor: Client
    viewer: Client
    keys: dict[str, str]
    user_ids: dict[str, int]

    def client(self, role: str, **kwargs: Any) -> Client:
        """Another client for `role` (the caller closes it)."""
        return Client(self.url, self.keys[role], **kwargs)


@pytest.fixture
def org(server: Any, new_org: Any) -> Iterator[SdkOrg]:
    """A new organization with an admin, an editor and a viewer, as SDK clients."""
    clients = {role: Client(server.url, key) for role, key in new_org.keys.items()}
    user_ids = {
        "admin": new_org.admin_user_id,
        "editor": new_org.editor_user_id,
        "viewer": new_org.viewer_user_id,
    }
    yield SdkOrg(
        server.url, clients["admin"], clients["editor"], clients["viewer"], dict(new_org.keys), user_ids
    )
    for client in clients.values():
        client.close()
