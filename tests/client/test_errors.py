"""Every error envelope becomes its typed exception, carrying request, response, code and details."""

from __future__ import annotations

import asyncio

import pytest

from openlytics.client import (
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    OpenlyticsError,
    PermissionDeniedError,
    QueryCancelledError,
    QueryFailedError,
    QueryTimeoutError,
    RateLimitedError,
    ResultTooLargeError,
    ServerError,
    SourceUnavailableError,
    ValidationError,
)
from tests.client.scripted_server import Reply, ScriptedServer, error

CASES = [
    (422, "invalid_input", ValidationError),
    (401, "unauthenticated", AuthenticationError),
    (403, "permission_denied", PermissionDeniedError),
    (404, "not_found", NotFoundError),
    (409, "conflict", ConflictError),
    (409, "query_cancelled", QueryCancelledError),
    (413, "result_too_large", ResultTooLargeError),
    (400, "query_failed", QueryFailedError),
    (502, "source_unavailable", SourceUnavailableError),
    (504, "query_timeout", QueryTimeoutError),
    (500, "internal_error", ServerError),
]


@pytest.mark.parametrize(("status", "code", "expected"), CASES)
def test_each_error_code_raises_its_exception(
    scripted: ScriptedServer, status: int, code: str, expected: type[OpenlyticsError]
) -> None:
    scripted.script(error(status, code, "the message", job_id=12))
    with Client(scripted.url, "k", max_retries=0) as client, pytest.raises(expected) as caught:
        client.jobs.get(12)
    exc = caught.value
    assert type(exc) is expected
    assert isinstance(exc, OpenlyticsError)
    assert (exc.code, exc.message, exc.details) == (code, "the message", {"job_id": 12})
    assert exc.response is not None and exc.response.status_code == status
    assert exc.request is not None and exc.request.url.path == "/api/v1/jobs/12"
    assert str(exc) == f"{code}: the message"


def test_query_errors_carry_the_job_id_from_details(scripted: ScriptedServer) -> None:
    scripted.script(error(400, "query_failed", "Catalog Error: Table nope does not exist", job_id=99))
    with Client(scripted.url, "k") as client, pytest.raises(QueryFailedError) as caught:
        client.run_sql("SELECT * FROM nope")
    assert caught.value.job_id == 99


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (503, ServerError),
        (418, APIStatusError),
    ],
)
def test_a_body_without_an_envelope_is_typed_by_status(
    scripted: ScriptedServer, status: int, expected: type[OpenlyticsError]
) -> None:
    scripted.script(Reply(status, b"<html>proxy says no</html>"))
    with Client(scripted.url, "k", max_retries=0) as client, pytest.raises(expected) as caught:
        client.me()
    assert type(caught.value) is expected
    assert caught.value.code is None
    assert "proxy says no" in caught.value.message


def test_the_async_client_raises_the_same_exceptions(scripted: ScriptedServer) -> None:
    scripted.script(error(403, "permission_denied", "not allowed to edit"))

    async def main() -> None:
        async with AsyncClient(scripted.url, "k") as client:
            await client.users.create("a@b.c", "A")

    with pytest.raises(PermissionDeniedError, match="not allowed"):
        asyncio.run(main())
