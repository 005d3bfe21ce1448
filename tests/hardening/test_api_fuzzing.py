"""Schemathesis against the native API's OpenAPI document (issue 9): generated requests, positive and
negative, from the examples, fuzzing and stateful phases (the stateful phase chains operations
through the links schemathesis infers, e.g. create a query then read it). No answer may be a 5xx, and
every answer must match its documented schema.

It runs the real `st` command against a live server on its own port, as an organization admin of a
fresh organization; operations that would take that admin's own credential away (revoking its key,
disabling or deleting users, logging out) are left out so the run keeps its access to the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from openlytics.testing import LiveServer

EXAMPLES = os.environ.get("OPENLYTICS_FUZZ_EXAMPLES", "8")
# A fixed seed in CI (the same requests every run); `random` explores new ones.
SEED = os.environ.get("OPENLYTICS_FUZZ_SEED", "20261202")
SELF_DESTRUCTIVE = (
    "revoke_api_key_api_v1_api_keys__key_id__delete",
    "update_user_api_v1_users__user_id__patch",
    "delete_user_api_v1_users__user_id__delete",
    "logout_api_v1_session_delete",
)


@pytest.mark.timeout(1500)
def test_no_generated_request_gets_a_server_error_or_breaks_the_schema(
    server: LiveServer, admin: httpx.Client, tmp_path: Path
) -> None:
    st = shutil.which("st")
    assert st is not None, "schemathesis is part of the dev install"
    slug = f"fuzz-{uuid.uuid4().hex[:8]}"
    created = admin.post("/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"})
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    excluded = [arg for op in SELF_DESTRUCTIVE for arg in ("--exclude-operation-id", op)]
    run = subprocess.run(
        [
            st,
            "run",
            f"{server.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "examples,fuzzing,stateful",
            "--max-examples",
            EXAMPLES,
            "--workers",
            "2",
            "--request-timeout",
            "60",
            "--seed",
            str(uuid.uuid4().int % 2**32) if SEED == "random" else SEED,
            "--report-dir",
            str(tmp_path),
            *excluded,
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=tmp_path,
    )
    summary = run.stdout[-6000:]
    assert run.returncode == 0, f"schemathesis found failures:\n{summary}\n{run.stderr[-2000:]}"
    assert "Tested:" in run.stdout and "ST101" not in run.stdout  # it ran, and met no server error
    assert admin.get("/api/v1/queries").status_code == 200  # the server keeps serving


def test_numbers_past_the_stores_integers_are_refused_not_crashed(admin: httpx.Client) -> None:
    # Found by the fuzzing above: ids past PostgreSQL's 32-bit and SQLite's 64-bit integers, pages
    # whose offset overflows, and Unicode digits that `str.isdigit` accepts but `int` does not.
    for number in (2**40, 10**30):
        for path in ("queries", "dashboards", "data-sources", "users", "schedules", "tasks"):
            answer = admin.get(f"/api/v1/{path}/{number}")
            assert answer.status_code in (404, 422), (path, number, answer.text)
    for path in ("queries", "dashboards", "data-sources", "schedules"):
        page = admin.get(f"/api/v1/{path}", params={"page": 10**25})
        assert page.status_code == 200 and page.json()["items"] == [], (path, page.text)
    assert admin.get("/api/v1/tasks/³").status_code in (404, 422)
    assert admin.get("/tonalytica/api/queries/³").status_code in (400, 404)  # the dialect's statuses


def test_text_with_nul_characters_is_refused_not_crashed(admin: httpx.Client) -> None:
    # Found by the fuzzing on PostgreSQL metadata, whose text cannot hold NUL (SQLite's can).
    for path, body in (
        ("/api/v1/teams", {"name": "nul\u0000team"}),
        ("/api/v1/queries", {"name": "q\u0000", "sql": "SELECT 1"}),
    ):
        answer = admin.post(path, json=body)
        assert answer.status_code in (201, 422), (path, answer.text)
    searched = admin.get("/api/v1/queries", params={"q": "a\u0000b"})
    assert searched.status_code in (200, 422), searched.text
