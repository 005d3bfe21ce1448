"""Fixtures for the SDK tests: a scripted local HTTP server, and SDK clients on the live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
