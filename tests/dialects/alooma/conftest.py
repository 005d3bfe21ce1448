"""The real `alooma` client (0.4.16) against a live server.

`alooma.Client(api_key=..., base_url=f"{server.url}/alooma")` discovers the account (the org's
slug) through `GET rest/repository`; `account_name=` puts it in the path instead. Username and
password log in lazily on the first 401.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from openlytics.testing import LiveServer
from tests.conftest import Org, drain_pipeline


@dataclass
class Alooma:
    """One organization seen through the dialect."""

    base: str  # http://HOST:PORT/alooma
    org: Org
    slug: str
    server: LiveServer
    client: Any  # alooma.Client with the org admin's key

    def client_for(self, key: str, *, account: str | None = None) -> Any:
        import alooma

        return alooma.Client(api_key=key, base_url=self.base, account_name=account)

    def raw(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        """A request the client never sends (or sends wrongly), with the admin key by default."""
        headers = {"authorization": f"API {key or self.org.keys['admin']}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}/rest/{path}", headers=headers, timeout=60, **kwargs)

    def user_with_password(self, role: str = "admin") -> tuple[str, str]:
        """A new user of the org with a password: (email, password)."""
        email = f"{role}-{uuid.uuid4().hex[:6]}@{self.slug}.test"
        password = "pw-" + uuid.uuid4().hex
        created = self.org.admin.post(
            "/api/v1/users", json={"email": email, "name": "Ada Lovelace", "role": role, "password": password}
        )
        assert created.status_code == 201, created.text
        return email, password

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until the pipeline processed every queued event of the org."""
        drain_pipeline(self.server, self.org.id, timeout)

    def sql(self, statement: str) -> list[dict[str, Any]]:
        """Rows of ad-hoc SQL on the org's warehouse, through the native API."""
        ran = self.org.admin.post("/api/v1/runs", json={"sql": statement, "wait": 60})
        assert ran.status_code == 200, ran.text
        rows: list[dict[str, Any]] = ran.json()["result"]["rows"]
        return rows

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.2)


@pytest.fixture
def al(server: LiveServer, new_org: Org) -> Iterator[Alooma]:
    import alooma

    base = f"{server.url}/alooma"
    slug = new_org.admin.get("/api/v1/organization").json()["slug"]
    client = alooma.Client(api_key=new_org.keys["admin"], base_url=base)
    yield Alooma(base, new_org, slug, server, client)
