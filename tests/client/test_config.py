"""Configuration from arguments and from OPENLYTICS_URL / OPENLYTICS_API_KEY."""

from __future__ import annotations

import pytest

from openlytics.client import Client
from tests.client.scripted_server import Reply, ScriptedServer

ME = {"user": None, "organization": {"id": 1, "name": "Org", "slug": "org"}, "credential": "user_key"}


def test_url_and_key_come_from_the_environment(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLYTICS_URL", scripted.url)
    monkeypatch.setenv("OPENLYTICS_API_KEY", "from-env")
    scripted.script(Reply(200, ME))
    with Client() as client:
        client.me()
    assert client.base_url == scripted.url + "/api/v1"
    assert scripted.seen[0].headers["Authorization"] == "Bearer from-env"


def test_arguments_win_over_the_environment(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLYTICS_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("OPENLYTICS_API_KEY", "from-env")
    scripted.script(Reply(200, ME))
    with Client(scripted.url + "/api/v1/", "from-arg") as client:
        client.me()
    assert scripted.seen[0].path == "/api/v1/me"
    assert scripted.seen[0].headers["Authorization"] == "Bearer from-arg"


def test_without_a_key_no_authorization_header_is_sent(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENLYTICS_API_KEY", raising=False)
    scripted.script(Reply(200, {"status": "ok", "version": "0.1.0"}))
    with Client(scripted.url) as client:
        assert client.health()["status"] == "ok"
    assert scripted.seen[0].path == "/healthz"
    assert "Authorization" not in scripted.seen[0].headers


def test_lists_follow_every_page(scripted: ScriptedServer) -> None:
    def page(n: int, ids: list[int]) -> Reply:
        items = [{"id": i, "name": f"q{i}", "sql": "SELECT 1"} for i in ids]
        return Reply(200, {"items": items, "page": n, "per_page": 2, "total": 5})

    scripted.script(page(1, [1, 2]), page(2, [3, 4]), page(3, [5]))
    with Client(scripted.url, "k") as client:
        ids = [q.id for q in client.queries.list(q="x", tag="t")]
    assert ids == [1, 2, 3, 4, 5]
    assert [s.path.split("?")[0] for s in scripted.seen] == ["/api/v1/queries"] * 3
    assert "q=x" in scripted.seen[0].path and "tag=t" in scripted.seen[0].path
    assert "include_archived" not in scripted.seen[0].path
