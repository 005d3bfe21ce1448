"""Leader election on the real PostgreSQL metadata store: one leader, handed over when it stops or dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from openlytics.runtime.leadership import PostgresLeadership, SoleLeadership, leadership_for
from openlytics.runtime.scheduler import Scheduler
from openlytics.store.db import Database

pytestmark = pytest.mark.postgres


@pytest.fixture
def engines(postgres_url: str) -> Iterator[Callable[[], sa.Engine]]:
    """Independent engines on the same database, as separate processes would have."""
    made: list[sa.Engine] = []

    def make() -> sa.Engine:
        engine = sa.create_engine(postgres_url)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def _name() -> str:
    return f"test-{uuid.uuid4().hex}"


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_one_leader_at_a_time_and_release_hands_over(engines: Callable[[], sa.Engine]) -> None:
    name = _name()
    first, second = PostgresLeadership(engines(), name), PostgresLeadership(engines(), name)
    assert first.is_leader()
    assert not second.is_leader()
    assert first.is_leader(), "a leader stays the leader"
    first.release()
    assert second.is_leader()
    assert not first.is_leader()
    second.release()


def test_different_names_are_different_elections(engines: Callable[[], sa.Engine]) -> None:
    first, second = PostgresLeadership(engines(), _name()), PostgresLeadership(engines(), _name())
    assert first.is_leader() and second.is_leader()
    first.release()
    second.release()


def test_leader_whose_connection_is_killed_stops_leading(
    engines: Callable[[], sa.Engine], postgres_url: str
) -> None:
    name = _name()
    leader, candidate = PostgresLeadership(engines(), name), PostgresLeadership(engines(), name)
    assert leader.is_leader()
    assert leader._connection is not None
    pid = leader._connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    leader._connection.commit()
    admin = engines()
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    assert _wait_for(candidate.is_leader), "the lock goes with the connection"
    assert not leader.is_leader(), "the old leader notices and steps down"
    candidate.release()
    leader.release()


def test_leader_killed_with_sigkill_is_replaced(engines: Callable[[], sa.Engine], postgres_url: str) -> None:
    name = _name()
    program = textwrap.dedent(
        f"""
        import sys, time, sqlalchemy as sa
        from openlytics.runtime.leadership import PostgresLeadership
        leadership = PostgresLeadership(sa.create_engine({postgres_url!r}), {name!r})
        assert leadership.is_leader()
        print("leading", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "leading"
        candidate = PostgresLeadership(engines(), name)
        assert not candidate.is_leader(), "the child holds the lock"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert _wait_for(candidate.is_leader), "a dead leader's lock is free again"
        candidate.release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_sqlite_store_is_its_own_leader(tmp_path: object) -> None:
    engine = sa.create_engine("sqlite://")
    assert isinstance(leadership_for(engine, "x"), SoleLeadership)
    assert leadership_for(engine, "x").is_leader()


def test_only_the_leading_scheduler_fires_and_the_other_takes_over(postgres_url: str) -> None:
    name = _name()
    fired: dict[str, list[int]] = {"a": [], "b": []}
    first_db, second_db = Database(postgres_url), Database(postgres_url)
    first = Scheduler(first_db, {}, poll_seconds=0.05, leadership=PostgresLeadership(first_db.engine, name))
    second = Scheduler(
        second_db, {}, poll_seconds=0.05, leadership=PostgresLeadership(second_db.engine, name)
    )
    # Count polls instead of schedules: a tick only happens on the leader.
    first._tick = lambda now, interrupt: fired["a"].append(1) or []  # type: ignore[method-assign]
    second._tick = lambda now, interrupt: fired["b"].append(1) or []  # type: ignore[method-assign]
    try:
        first.start()
        assert _wait_for(lambda: len(fired["a"]) >= 3)
        second.start()
        time.sleep(0.5)
        assert fired["b"] == [], "the follower does not poll while the leader lives"
        first.stop(timeout=5)
        assert _wait_for(lambda: len(fired["b"]) >= 3), "the follower takes over when the leader stops"
        assert second.leading
    finally:
        first.stop(timeout=5)
        second.stop(timeout=5)
        first_db.dispose()
        second_db.dispose()
