"""The API as a whole: OpenAPI, authentication on every route, error envelopes for bad requests."""

from __future__ import annotations

import re

import httpx
import pytest

from openlytics.testing import LiveServer

# The token endpoint authenticates the OAuth client itself (RFC 6749 errors, tested in test_oauth_clients).
PUBLIC = {("POST", "/api/v1/session"), ("DELETE", "/api/v1/session"), ("POST", "/api/v1/oauth/token")}


def native_routes(server: LiveServer) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    ]


def test_openapi_describes_the_native_api(server: LiveServer) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    for path in (
        "/api/v1/queries",
        "/api/v1/runs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/results/{result_id}/data",
        "/api/v1/data-sources/{source_id}/schema",
        "/api/v1/schedules/{schedule_id}/trigger",
    ):
        assert path in spec["paths"], path
    assert not [p for p in spec["paths"] if p.startswith(("/tonalytica", "/clicdata"))]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/queries"]["get"]["security"] == [{"HTTPBearer": []}]
    assert httpx.get(f"{server.url}/api/v1/docs").status_code == 200


def test_every_native_route_requires_a_credential(server: LiveServer) -> None:
    routes = native_routes(server)
    assert len(routes) > 30
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        url = server.url + re.sub(r"\{[^}]+\}", "1", path)
        response = httpx.request(method, url, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"Content-Type": "application/json"}),
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b"", {"Content-Type": "application/json"}),
    ],
)
def test_malformed_bodies_get_a_json_422(admin: httpx.Client, content: bytes, headers: dict) -> None:
    response = admin.post("/api/v1/queries", content=content, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_unknown_ids_are_404_for_every_resource(admin: httpx.Client) -> None:
    for path in (
        "/api/v1/queries/999999",
        "/api/v1/jobs/999999",
        "/api/v1/results/999999",
        "/api/v1/data-sources/999999",
        "/api/v1/schedules/999999",
        "/api/v1/users/999999",
    ):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert admin.get("/api/v1/queries/not-a-number").status_code == 422


def test_dialect_prefixes_answer_501_until_implemented(server: LiveServer) -> None:
    for prefix in ("tonalytica", "clicdata", "alooma", "serenytics", "thoughtspot"):
        response = httpx.get(f"{server.url}/{prefix}/api/anything")
        assert response.status_code == 501
        assert response.json()["error"]["code"] == "not_implemented"


def test_repeated_slashes_are_collapsed(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}//api/v1//me", headers={"Authorization": f"Bearer {server.admin_key}"})
    assert response.status_code == 200


def test_the_docs_page_works_without_internet(server: LiveServer) -> None:
    page = httpx.get(f"{server.url}/api/v1/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert assets
    for asset in assets:
        response = httpx.get(server.url + asset)
        assert response.status_code == 200 and len(response.content) > 1000, asset
