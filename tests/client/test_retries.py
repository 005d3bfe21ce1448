"""Retries: 429 (any method) and 503 / broken connections (idempotent methods), with Retry-After."""

from __future__ import annotations

import asyncio
import socket

import pytest

from openlytics.client import (
    AsyncClient,
    Client,
    RateLimitedError,
    ServerError,
    TransportError,
)
from tests.client.scripted_server import Reply, ScriptedServer, error

ME = {"user": None, "organization": {"id": 1, "name": "Org", "slug": "org"}, "credential": "user_key"}


def rate_limited(retry_after: str = "0") -> Reply:
    reply = error(429, "rate_limited", "slow down")
    reply.headers["Retry-After"] = retry_after
    return reply


def unavailable() -> Reply:
    reply = error(503, "unavailable", "restarting")
    reply.headers["Retry-After"] = "0"
    return reply


def test_get_is_retried_after_503_until_it_succeeds(scripted: ScriptedServer) -> None:
    scripted.script(unavailable(), unavailable(), Reply(200, ME))
    with Client(scripted.url, "k", max_retries=3) as client:
        me = client.me()
    assert me.organization.slug == "org"
    assert len(scripted.seen) == 3


def test_post_is_retried_after_429_honouring_retry_after(scripted: ScriptedServer) -> None:
    created = {"id": 7, "name": "n", "sql": "SELECT 1"}
    scripted.script(rate_limited(), rate_limited(), rate_limited(), Reply(201, created))
    with Client(scripted.url, "k", max_retries=3) as client:
        query = client.queries.create("n", "SELECT 1")
    assert query.id == 7
    assert [s.method for s in scripted.seen] == ["POST"] * 4
    assert all(s.body == scripted.seen[0].body for s in scripted.seen)


def test_post_is_not_retried_after_503(scripted: ScriptedServer) -> None:
    scripted.script(unavailable(), Reply(201, {"id": 1}))
    with Client(scripted.url, "k", max_retries=3) as client, pytest.raises(ServerError) as caught:
        client.queries.create("n", "SELECT 1")
    assert caught.value.status_code == 503
    assert len(scripted.seen) == 1


def test_retries_stop_after_max_retries(scripted: ScriptedServer) -> None:
    scripted.script(rate_limited())
    with Client(scripted.url, "k", max_retries=2) as client, pytest.raises(RateLimitedError) as caught:
        client.me()
    assert len(scripted.seen) == 3
    assert caught.value.retry_after == 0
    assert caught.value.code == "rate_limited"
    assert caught.value.request is not None and caught.value.request.url.path == "/api/v1/me"


def test_max_retries_zero_never_retries(scripted: ScriptedServer) -> None:
    scripted.script(unavailable(), Reply(200, ME))
    with Client(scripted.url, "k", max_retries=0) as client, pytest.raises(ServerError):
        client.me()
    assert len(scripted.seen) == 1


def test_a_retry_after_beyond_a_minute_is_raised_not_slept(scripted: ScriptedServer) -> None:
    scripted.script(rate_limited("3600"), Reply(200, ME))
    with Client(scripted.url, "k", max_retries=3) as client, pytest.raises(RateLimitedError) as caught:
        client.me()
    assert caught.value.retry_after == 3600
    assert len(scripted.seen) == 1


def test_connection_refused_is_retried_then_raised_as_transport_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", "k", max_retries=1)
    with client, pytest.raises(TransportError) as caught:
        client.me()
    assert "ConnectError" in caught.value.message
    assert caught.value.request is not None
    assert caught.value.response is None
    assert isinstance(caught.value.__cause__, Exception)


def test_async_client_retries_the_same_way(scripted: ScriptedServer) -> None:
    scripted.script(unavailable(), rate_limited(), Reply(200, ME))

    async def main() -> str:
        async with AsyncClient(scripted.url, "k", max_retries=3) as client:
            return (await client.me()).credential

    assert asyncio.run(main()) == "user_key"
    assert len(scripted.seen) == 3
