"""Processes that start together (API processes, schedulers, workers) migrate one at a time."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from openlytics.store.db import Database
from tests.conftest import FreshPostgresDatabase

pytestmark = pytest.mark.postgres


def test_four_processes_migrating_at_once_all_succeed() -> None:
    fresh = FreshPostgresDatabase.create("migrate")
    errors: list[BaseException] = []

    def migrate() -> None:
        database = Database(fresh.url)
        try:
            database.migrate()
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=migrate, daemon=True) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a migration is stuck waiting for another"
        assert errors == []
        engine = sa.create_engine(fresh.url)
        with engine.connect() as conn:
            heads = conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()
        engine.dispose()
        assert heads == 1
    finally:
        fresh.drop()
