"""Named locks that hold across processes sharing a PostgreSQL store (and threads of one SQLite one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from openlytics.store.db import Database, advisory_key

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_processes(postgres_url: str) -> Iterator[tuple[Database, Database]]:
    """Two handles on one store, as two API processes have."""
    first, second = Database(postgres_url), Database(postgres_url)
    yield first, second
    first.dispose()
    second.dispose()


def test_exclusive_holds_across_handles(two_processes: tuple[Database, Database]) -> None:
    first, second = two_processes
    order: list[str] = []
    inside = threading.Event()

    def holder() -> None:
        with first.exclusive("dataset:1"):
            inside.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(10)
    with second.exclusive("dataset:1"):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_different_names_do_not_wait(two_processes: tuple[Database, Database]) -> None:
    first, second = two_processes
    with first.exclusive("dataset:1"):
        done = threading.Event()

        def other() -> None:
            with second.exclusive("dataset:2"):
                done.set()

        threading.Thread(target=other).start()
        assert done.wait(10), "another name is free"


def test_a_dead_holders_lock_is_released(two_processes: tuple[Database, Database], postgres_url: str) -> None:
    _, second = two_processes
    engine = sa.create_engine(postgres_url)
    try:
        holder = engine.connect()
        holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _key("dataset:9")})
        holder.commit()
        got = threading.Event()

        def waiter() -> None:
            with second.exclusive("dataset:9"):
                got.set()

        threading.Thread(target=waiter, daemon=True).start()
        assert not got.wait(0.5), "held by the other session"
        holder.invalidate()  # the holding process dies: its session ends
        holder.close()
        assert got.wait(10)
    finally:
        engine.dispose()


def test_lock_in_serializes_transactions(two_processes: tuple[Database, Database]) -> None:
    first, second = two_processes
    order: list[str] = []
    locked = threading.Event()

    def holder() -> None:
        with first.session() as s:
            first.lock_in(s, "job:1:abc")
            locked.set()
            time.sleep(0.5)
            order.append("first commits")

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    with second.session() as s:
        second.lock_in(s, "job:1:abc")
        order.append("second in")
    thread.join()
    assert order == ["first commits", "second in"]


def _key(name: str) -> int:
    return advisory_key(name)
