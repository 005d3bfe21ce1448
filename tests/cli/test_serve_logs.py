"""The server's log never shows a credential: request targets in the access log are masked."""

from __future__ import annotations

from pathlib import Path

import httpx

from openlytics.log_redaction import redact_target
from tests.cli.test_serve import free_port
from tests.cli.test_serve_processes import KEY, serve, stop, wait_ready


def test_credentials_in_urls_are_masked_in_the_access_log(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port, {})
    try:
        wait_ready(server, url)
        auth = {"Authorization": f"Bearer {KEY}"}
        dashboard = httpx.post(f"{url}/api/v1/dashboards", headers=auth, json={"name": "logged"})
        assert dashboard.status_code == 201, dashboard.text
        shared = httpx.post(f"{url}/api/v1/dashboards/{dashboard.json()['id']}/share", headers=auth)
        assert shared.status_code in (200, 201), shared.text
        token = shared.json()["token"]
        assert httpx.get(f"{url}/tonalytica/api/queries", params={"api_key": KEY}).status_code == 200
        assert httpx.get(f"{url}/public/dashboards/{token}").status_code == 200
        assert httpx.post(f"{url}/alooma/inputs/rest/not-a-real-token-0123", json={}).status_code >= 400
    finally:
        log = stop(server)
    assert "GET /tonalytica/api/queries?api_key=***" in log, log[-3000:]  # the request is logged ...
    assert "/public/dashboards/***" in log and "/inputs/rest/***" in log
    assert KEY not in log and token not in log and "not-a-real-token-0123" not in log  # ... its secrets not


def test_redaction_keeps_everything_but_the_secrets() -> None:
    assert redact_target("/api/v1/queries?page=2&per_page=5") == "/api/v1/queries?page=2&per_page=5"
    assert redact_target("/x?sig=abc&expires=99") == "/x?sig=***&expires=99"
    assert redact_target("/serenytics/api/data_source/u/push/tok") == "/serenytics/api/data_source/u/push/***"
    assert redact_target("/tonalytica/api/dashboards/public/tok") == "/tonalytica/api/dashboards/public/***"
