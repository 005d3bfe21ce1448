"""send_email through the real client: a real SMTP server, a dashboard PDF, an attached file, a quota."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from openlytics.settings import SmtpSettings
from openlytics.testing import LiveServer
from tests.conftest import make_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture(scope="module")
def inbox_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Inbox, LiveServer]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings, databases = make_settings(
        tmp_path_factory.mktemp("mail") / "data",
        "sqlite",
        smtp=SmtpSettings(host="127.0.0.1", port=port, sender="reports@openlytics.test"),
        email_daily_quota=2,
    )
    try:
        with LiveServer(settings) as live:
            yield inbox, live
    finally:
        controller.stop()
        databases.drop()


def test_send_email_with_dashboard_pdf_and_attachment_then_quota(
    inbox_and_server: tuple[Inbox, LiveServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serenytics
    from serenytics import settings
    from serenytics.client import TooManyEmailsSent

    inbox, live = inbox_and_server
    monkeypatch.setattr(settings, "SERENYTICS_API_DOMAIN", f"{live.url}/serenytics")
    client = serenytics.Client(api_key=live.admin_key)
    web_app = httpx.post(
        f"{live.url}/serenytics/api/web_app",
        json={"name": "Monthly", "jsonContent": {}},
        headers={"X-Api-Key": live.admin_key},
    ).json()
    report = tmp_path / "numbers.csv"
    report.write_text("a,b\n1,2\n")

    client.send_email(
        "Monthly report",
        ["boss@example.com", "team@example.com"],
        "<p>Hello <b>team</b></p>",
        web_app_uuid=web_app["uuid"],
        pdf_file_name="monthly.pdf",
        file_to_attach=str(report),
    )
    recipients, mail = inbox.messages[-1]
    assert recipients == ["boss@example.com", "team@example.com"] and mail["Subject"] == "Monthly report"
    parts = {part.get_filename(): part for part in mail.walk() if part.get_filename()}
    assert parts["monthly.pdf"].get_payload(decode=True)[:4] == b"%PDF"
    assert parts["numbers.csv"].get_payload(decode=True) == b"a,b\n1,2\n"
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    assert "<b>team</b>" in html.get_payload(decode=True).decode()

    client.send_email("Second", ["boss@example.com"], "<p>2</p>")
    with pytest.raises(TooManyEmailsSent):
        client.send_email("Third", ["boss@example.com"], "<p>3</p>")
    assert len(inbox.messages) == 2


def test_bad_recipients_are_refused(inbox_and_server: tuple[Inbox, LiveServer]) -> None:
    _, live = inbox_and_server
    response = httpx.post(
        f"{live.url}/serenytics/api/email",
        json={"subject": "x", "recipients": ["not an address"], "html": "<p>x</p>"},
        headers={"X-Api-Key": live.admin_key},
    )
    assert response.status_code == 400 and "recipients" in response.json()["errors"][0]
