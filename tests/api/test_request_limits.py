"""Request size limits: JSON bodies and files each have a ceiling; past it the answer is 413 in the
caller's API shape, whether the size was declared or the body streamed past it; the server keeps
serving and nothing is changed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.conftest import make_settings

JSON_LIMIT = 64 * 1024
FILE_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    settings, dbs = make_settings(
        data_dir, "sqlite", max_json_request_bytes=JSON_LIMIT, upload_max_bytes=FILE_LIMIT
    )
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        dbs.drop()


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def test_a_declared_json_body_over_the_limit_is_refused_unread(small: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {small.admin_key}"}
    big = {"name": "big", "sql": "SELECT 1 -- " + "x" * JSON_LIMIT}
    refused = httpx.post(f"{small.url}/api/v1/queries", json=big, headers=headers)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "request_too_large"
    listed = httpx.get(f"{small.url}/api/v1/queries", headers=headers).json()
    assert all(q["name"] != "big" for q in listed["items"])  # nothing was created
    fine = httpx.post(
        f"{small.url}/api/v1/queries", json={"name": "small", "sql": "SELECT 1"}, headers=headers
    )
    assert fine.status_code == 201, fine.text  # the server keeps serving


def test_dialects_answer_413_in_their_own_shape(small: LiveServer) -> None:
    body = b'{"query": "' + b"x" * JSON_LIMIT + b'"}'
    refused = httpx.post(
        f"{small.url}/tonalytica/api/queries",
        content=body,
        headers={"Authorization": f"Key {small.admin_key}", "Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    assert "error" not in refused.json() and "larger than" in refused.json()["message"]


def test_a_file_streamed_past_the_limit_fails_and_the_dataset_is_unchanged(small: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {small.admin_key}"}
    created = httpx.post(
        f"{small.url}/api/v1/datasets",
        json={"name": "limited", "columns": [{"name": "v", "type": "string"}]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    dataset = created.json()["id"]
    loaded = httpx.put(
        f"{small.url}/api/v1/datasets/{dataset}/data",
        content=b"v\nkept\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert loaded.status_code in (200, 201), loaded.text
    # No Content-Length: the body is chunked, so only counting while it streams can stop it.
    refused = httpx.put(
        f"{small.url}/api/v1/datasets/{dataset}/data",
        content=_chunks(FILE_LIMIT * 2),
        headers={**headers, "Content-Type": "text/csv"},
        timeout=60,
    )
    assert refused.status_code == 413, refused.text
    rows = httpx.get(f"{small.url}/api/v1/datasets/{dataset}/data", headers=headers)
    assert rows.status_code == 200, rows.text
    assert "kept" in rows.text and "xxxx" not in rows.text
