"""Security headers: every answer forbids MIME sniffing and referrer leaks; HTML pages are framed by
this server only; a route's own stricter policy (public dashboards) is kept."""

from __future__ import annotations

import httpx

from openlytics.testing import LiveServer


def test_json_answers_forbid_sniffing(server: LiveServer, admin: httpx.Client) -> None:
    for response in (admin.get("/api/v1/queries"), httpx.get(f"{server.url}/api/v1/queries")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_html_pages_are_framed_by_this_server_only(server: LiveServer) -> None:
    docs = httpx.get(f"{server.url}/api/v1/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert docs.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in docs.headers["Content-Security-Policy"]


def test_a_public_dashboard_keeps_its_own_stricter_policy(server: LiveServer, admin: httpx.Client) -> None:
    dashboard = admin.post("/api/v1/dashboards", json={"name": "headers"})
    assert dashboard.status_code == 201, dashboard.text
    token = admin.post(f"/api/v1/dashboards/{dashboard.json()['id']}/share").json()["token"]
    page = httpx.get(f"{server.url}/public/dashboards/{token}")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
