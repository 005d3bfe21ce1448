"""Scheduled refreshes evaluate alerts, which notify by e-mail (a real SMTP server) and webhook."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from openlytics.settings import SmtpSettings
from openlytics.testing import LiveServer
from tests.conftest import make_settings
from tests.warehouse_sql import numbered


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


class Receiver(ThreadingHTTPServer):
    """A local webhook endpoint recording JSON posts."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd connects to its own port to check it is up: no port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def mailing_server(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Inbox, int]) -> Iterator[LiveServer]:
    settings, databases = make_settings(
        tmp_path_factory.mktemp("alerts") / "data",
        "sqlite",
        smtp=SmtpSettings(host="127.0.0.1", port=smtp[1], sender="alerts@openlytics.test"),
        public_url="http://openlytics.test",
    )
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        databases.drop()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_scheduled_refresh_triggers_and_recovers_alerts(
    mailing_server: LiveServer, smtp: tuple[Inbox, int], receiver: Receiver, tmp_path: Path
) -> None:
    inbox = smtp[0]
    http = httpx.Client(
        base_url=f"{mailing_server.url}/tonalytica/api",
        headers={"Authorization": f"Key {mailing_server.admin_key}"},
        timeout=60,
    )
    source = http.get("/data_sources").json()[0]["id"]
    http.post(
        "/query_results",
        json={
            "data_source_id": source,
            "max_age": 0,
            "query": "CREATE TABLE events AS " + numbered(5, "n AS id"),
        },
    )
    query = http.post(
        "/queries",
        json={"data_source_id": source, "name": "events", "query": "SELECT count(*) AS n FROM events"},
    ).json()
    alert = http.post(
        "/alerts",
        json={
            "name": "Many events",
            "query_id": query["id"],
            "options": {"column": "n", "op": ">", "value": 3},
        },
    ).json()
    hook = http.post(
        "/destinations",
        json={
            "name": "hook",
            "type": "webhook",
            "options": {"url": f"http://127.0.0.1:{receiver.server_port}/hook"},
        },
    ).json()
    assert (
        http.post(
            f"/alerts/{alert['id']}/subscriptions",
            json={"alert_id": alert["id"], "destination_id": hook["id"]},
        ).status_code
        == 200
    )
    subscriptions = http.get(f"/alerts/{alert['id']}/subscriptions").json()
    assert len(subscriptions) == 2 and any("destination" in s for s in subscriptions)

    http.post(
        f"/queries/{query['id']}",
        json={"schedule": {"interval": 1, "time": None, "day_of_week": None, "until": None}},
    )
    wait_for(lambda: http.get(f"/alerts/{alert['id']}").json()["state"] == "triggered")
    wait_for(lambda: len(receiver.posts) >= 1 and len(inbox.messages) >= 1)
    assert receiver.posts[0]["alert"]["state"] == "triggered" and receiver.posts[0]["value"] == 5
    recipients, mail = inbox.messages[0]
    assert recipients == ["admin@example.com"] and mail["Subject"] == "(TRIGGERED) Many events"
    assert "http://openlytics.test/queries/" in mail.get_payload()

    # Still triggered on the next runs: no new notification (no rearm).
    time.sleep(2.5)
    assert len(receiver.posts) == 1

    http.post(f"/alerts/{alert['id']}", json={"options": {"column": "n", "op": ">", "value": 10}})
    wait_for(lambda: http.get(f"/alerts/{alert['id']}").json()["state"] == "ok")
    wait_for(lambda: len(receiver.posts) >= 2)
    assert receiver.posts[1]["alert"]["state"] == "ok"
    http.post(f"/queries/{query['id']}", json={"schedule": None})
    http.close()


def test_a_dead_webhook_does_not_fail_the_run(mailing_server: LiveServer) -> None:
    http = httpx.Client(
        base_url=f"{mailing_server.url}/tonalytica/api",
        headers={"Authorization": f"Key {mailing_server.admin_key}"},
        timeout=60,
    )
    query = http.post("/queries", json={"name": "one", "query": "SELECT 1 AS n"}).json()
    alert = http.post(
        "/alerts",
        json={"name": "one", "query_id": query["id"], "options": {"column": "n", "op": "==", "value": 1}},
    ).json()
    dead = http.post(
        "/destinations",
        json={"name": "dead", "type": "webhook", "options": {"url": "http://127.0.0.1:9/none"}},
    ).json()
    http.post(f"/alerts/{alert['id']}/subscriptions", json={"destination_id": dead["id"]})
    job = http.post(f"/queries/{query['id']}/refresh").json()["job"]
    assert job["status"] == 3
    wait_for(lambda: http.get(f"/alerts/{alert['id']}").json()["state"] == "triggered")
    bad = http.post(
        "/destinations", json={"name": "bad", "type": "webhook", "options": {"url": "file:///etc/passwd"}}
    )
    assert bad.status_code == 400 and "url" in bad.json()["message"]
    http.close()
