"""The real `serenytics` client (2.0.1) against a live server.

The client reads its API domain at import time; its modules look it up as
`serenytics.settings.SERENYTICS_API_DOMAIN` at call time, which the fixture points at the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.conftest import Org


@dataclass
class Serenytics:
    """One organization seen through the dialect."""

    base: str
    org: Org
    client: Any  # serenytics.Client with the org admin's key
    http: httpx.Client  # raw calls with the admin key

    def client_for(self, key: str, script_id: str | None = None) -> Any:
        import serenytics

        return serenytics.Client(api_key=key, script_id=script_id)

    def create_webapp(self, name: str, json_content: dict[str, Any] | None = None) -> Any:
        """As the client's own tests do (tests/common.py)."""
        from serenytics import settings
        from serenytics.helpers import HTTP_201_CREATED, make_request
        from serenytics.webapp import WebApp

        response = make_request(
            "post",
            settings.SERENYTICS_API_DOMAIN + "/api/web_app",
            data=json.dumps({"name": name, "jsonContent": json_content or {}}),
            headers=self.client._headers,
            expected_status_code=HTTP_201_CREATED,
        )
        return WebApp(config=response.json(), client=self.client)


@pytest.fixture
def sty(server: LiveServer, new_org: Org, monkeypatch: pytest.MonkeyPatch) -> Iterator[Serenytics]:
    import serenytics
    from serenytics import settings

    base = f"{server.url}/serenytics"
    monkeypatch.setattr(settings, "SERENYTICS_API_DOMAIN", base)
    key = new_org.keys["admin"]
    http = httpx.Client(base_url=f"{base}/api", headers={"X-Api-Key": key}, timeout=60)
    try:
        yield Serenytics(base, new_org, serenytics.Client(api_key=key), http)
    finally:
        http.close()
