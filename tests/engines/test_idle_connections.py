"""Engines nobody used for a while give their idle connections back; engines in use are unharmed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from openlytics.engines.base import Statement
from openlytics.engines.registry import EnginePool
from openlytics.engines.sql import SQLAlchemySourceEngine
from tests.conftest import POSTGRES_URL, FreshPostgresDatabase

pytestmark = pytest.mark.postgres


@pytest.fixture
def database() -> Iterator[FreshPostgresDatabase]:
    fresh = FreshPostgresDatabase.create("idle")
    yield fresh
    fresh.drop()


def connections_to(name: str) -> int:
    engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = conn.scalar(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )
    engine.dispose()
    return int(count or 0)


def run(engine: SQLAlchemySourceEngine, sql: str) -> list[dict[str, object]]:
    with engine.execute(Statement.plain(sql)) as execution:
        return [row for batch in execution.batches() for row in batch.to_pylist()]


def test_quiet_engines_close_their_idle_connections_and_reconnect(database: FreshPostgresDatabase) -> None:
    pool = EnginePool()
    engine = pool.get("source", lambda: SQLAlchemySourceEngine(database.url))
    assert isinstance(engine, SQLAlchemySourceEngine)
    assert run(engine, "SELECT 1 AS one") == [{"one": 1}]
    assert connections_to(database.name) == 1, "a pooled connection stays open"
    assert pool.release_idle(idle_seconds=3600) == 0, "used just now"
    assert pool.release_idle(idle_seconds=0) == 1
    assert connections_to(database.name) == 0
    assert pool.release_idle(idle_seconds=0) == 0, "released once until used again"
    again = pool.get("source", lambda: SQLAlchemySourceEngine(database.url))
    assert again is engine and run(again, "SELECT 2 AS two") == [{"two": 2}]
    pool.close_all()


def test_a_running_statement_survives_and_its_connection_closes_after(
    database: FreshPostgresDatabase,
) -> None:
    pool = EnginePool()
    engine = pool.get("source", lambda: SQLAlchemySourceEngine(database.url))
    assert isinstance(engine, SQLAlchemySourceEngine)
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(run(engine, "SELECT pg_sleep(1.5), 7 AS n")))
    thread.start()
    deadline = time.monotonic() + 10
    while connections_to(database.name) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pool.release_idle(idle_seconds=0) == 1
    thread.join(timeout=30)
    assert len(outcome) == 1
    rows = outcome[0]
    assert isinstance(rows, list) and rows[0]["n"] == 7, "the running statement finished"
    deadline = time.monotonic() + 10
    while connections_to(database.name) > 0:
        assert time.monotonic() < deadline, "the connection is closed once given back"
        time.sleep(0.05)
    pool.close_all()
