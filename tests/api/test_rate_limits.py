"""Rate limits per credential: 429 with Retry-After in each API's error shape, per credential, and
one count across API processes when the counters live in Redis (docs/security.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from openlytics.core.errors import RateLimitedError
from openlytics.runtime.rate_limiter import KEY_PREFIX, RateLimiter
from openlytics.settings import RateLimitSettings
from openlytics.testing import LiveServer
from tests.cli.test_serve import free_port
from tests.cli.test_serve_processes import KEY, databases, serve, stop, wait_ready  # noqa: F401
from tests.conftest import make_settings
from tests.runtime.celery_cluster import redis_database

RATE = 5


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An embedded server allowing RATE requests per credential and minute."""
    data_dir = tmp_path_factory.mktemp("rate") / "data"
    settings, dbs = make_settings(
        data_dir, "sqlite", rate_limits=RateLimitSettings(per_credential=f"{RATE}/minute")
    )
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        dbs.drop()


def fresh_key(live: LiveServer) -> str:
    """A new API key of the bootstrap admin, made through the in-process core (the admin's own
    key may be used up by the time it is needed)."""
    core = live.core
    principal = core.identity.authenticate_api_key(live.admin_key)
    return core.identity.create_api_key(principal, name="fresh").key


def test_the_request_past_the_rate_gets_429_with_retry_after(limited: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {limited.admin_key}"}
    with httpx.Client(base_url=limited.url, headers=headers) as admin:
        statuses = [admin.get("/api/v1/queries").status_code for _ in range(RATE)]
        refused = admin.get("/api/v1/queries")
        health = [httpx.get(f"{limited.url}/healthz").status_code for _ in range(RATE + 2)]
    assert statuses == [200] * RATE
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Bearer" not in refused.text and limited.admin_key not in refused.text
    assert health == [200] * (RATE + 2)  # health checks are never limited


def test_each_credential_has_its_own_count(limited: LiveServer) -> None:
    admin = {"Authorization": f"Bearer {limited.admin_key}"}
    answers = [httpx.get(f"{limited.url}/api/v1/queries", headers=admin).status_code for _ in range(RATE + 1)]
    other = {"Authorization": f"Bearer {fresh_key(limited)}"}
    fresh = httpx.get(f"{limited.url}/api/v1/queries", headers=other)
    assert answers[-1] == 429  # the admin's key is used up ...
    assert fresh.status_code == 200, fresh.text  # ... another key of the same user is not


def test_dialects_answer_429_in_their_own_shape(limited: LiveServer) -> None:
    key = fresh_key(limited)
    with httpx.Client(base_url=limited.url, headers={"Authorization": f"Key {key}"}) as client:
        answers = [client.get("/tonalytica/api/queries") for _ in range(RATE + 1)]
    assert [a.status_code for a in answers[:RATE]] == [200] * RATE
    refused = answers[RATE]
    assert refused.status_code == 429
    assert "error" not in refused.json() and "too many requests" in refused.json()["message"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_requests_without_credentials_count_per_address_and_path(limited: LiveServer) -> None:
    login = [
        httpx.post(f"{limited.url}/api/v1/session", json={"email": "x@y.test", "password": "no"}).status_code
        for _ in range(RATE + 1)
    ]
    elsewhere = httpx.get(f"{limited.url}/api/v1/openapi.json")
    assert login[:RATE] == [401] * RATE, login
    assert login[RATE] == 429
    assert elsewhere.status_code == 200


def test_an_unreachable_counter_store_limits_nothing() -> None:
    limiter = RateLimiter("1/minute", f"redis://127.0.0.1:{free_port()}/0")

    async def twice() -> None:
        await limiter.check("k")
        await limiter.check("k")

    asyncio.run(twice())  # fails open: neither call raises


def test_a_memory_limiter_refuses_past_its_rate() -> None:
    limiter = RateLimiter("2/minute")

    async def three() -> None:
        await limiter.check("k")
        await limiter.check("k")
        await limiter.check("other")
        await limiter.check("k")

    with pytest.raises(RateLimitedError) as refused:
        asyncio.run(three())
    assert 1 <= refused.value.retry_after <= 60


@pytest.mark.postgres
def test_api_processes_share_one_count_in_redis(tmp_path: Path, databases: tuple[str, str]) -> None:  # noqa: F811
    metadata_url, warehouse_url = databases
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with redis_database() as store:
        env = {
            "OPENLYTICS_DATABASE_URL": metadata_url,
            "OPENLYTICS_WAREHOUSE_URL": warehouse_url,
            "OPENLYTICS_RATE_LIMITS__PER_CREDENTIAL": "10/minute",
            "OPENLYTICS_RATE_LIMITS__STORAGE_URL": store,
        }
        server = serve(tmp_path, port, env, "--workers", "2")
        try:
            wait_ready(server, url)
            statuses = []
            for _ in range(20):  # a new connection each time: the requests spread over both processes
                with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}) as client:
                    statuses.append(client.get(f"{url}/api/v1/queries").status_code)
            counters = redis.Redis.from_url(store).keys(f"{KEY_PREFIX}*")
        finally:
            log = stop(server)
    assert statuses.count(200) == 10 and statuses.count(429) == 10, (statuses, log[-2000:])
    assert counters, "the counters live in Redis"
    assert all(KEY.encode() not in name for name in counters)  # a digest, never the key itself
