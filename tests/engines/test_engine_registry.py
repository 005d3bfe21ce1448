"""open_engine and EnginePool."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from openlytics.core.errors import InvalidInputError, QueryFailedError
from openlytics.engines.base import SourceEngine, Statement
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.engines.registry import EnginePool, open_engine
from openlytics.engines.sql import SQLAlchemySourceEngine
from openlytics.settings import Settings

from .conftest import fetch_table


def test_warehouse_is_a_sandboxed_duckdb(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, warehouse_memory_limit="256MB", warehouse_threads=1)
    engine = open_engine("warehouse", None, warehouse_file=tmp_path / "wh" / "org1.duckdb", settings=settings)
    try:
        assert isinstance(engine, DuckDBEngine) and engine.sandboxed
        assert fetch_table(engine, "SELECT current_setting('memory_limit') AS m").column("m")[0].as_py() in (
            "256.0 MiB",
            "244.1 MiB",
        )
        with pytest.raises(QueryFailedError):
            fetch_table(engine, "SELECT * FROM read_csv('/etc/passwd')")
    finally:
        engine.close()


def test_external_kinds_open_sqlalchemy_engines(tmp_path: Path) -> None:
    engine = open_engine(
        "sqlite", f"sqlite:///{tmp_path / 'a.sqlite'}", warehouse_file=None, settings=Settings()
    )
    try:
        assert isinstance(engine, SQLAlchemySourceEngine) and engine.dialect == "sqlite"
    finally:
        engine.close()


def test_kind_and_url_must_agree(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        open_engine(
            "postgresql", f"sqlite:///{tmp_path / 'a.sqlite'}", warehouse_file=None, settings=Settings()
        )
    with pytest.raises(InvalidInputError):
        open_engine("postgresql", None, warehouse_file=None, settings=Settings())


class CountingEngine(DuckDBEngine):
    closed = 0

    def close(self) -> None:
        CountingEngine.closed += 1
        super().close()


def test_pool_opens_one_engine_per_key_across_threads(tmp_path: Path) -> None:
    pool = EnginePool()
    opened: list[SourceEngine] = []

    def factory() -> SourceEngine:
        time.sleep(0.05)  # widen the race window
        engine = DuckDBEngine(tmp_path / "a.duckdb")
        opened.append(engine)
        return engine

    got: list[SourceEngine] = []
    threads = [threading.Thread(target=lambda: got.append(pool.get(("src", 1), factory))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 1
    assert all(engine is opened[0] for engine in got)
    pool.close_all()


def test_pool_closes_discarded_and_all_engines(tmp_path: Path) -> None:
    CountingEngine.closed = 0
    pool = EnginePool()
    first = pool.get(1, lambda: CountingEngine(tmp_path / "a.duckdb"))
    pool.get(2, lambda: CountingEngine(tmp_path / "b.duckdb"))
    pool.discard(1)
    assert CountingEngine.closed == 1
    assert pool.get(1, lambda: CountingEngine(tmp_path / "c.duckdb")) is not first
    pool.discard_where(lambda key: key == 2)
    assert CountingEngine.closed == 2
    pool.close_all()
    assert CountingEngine.closed == 3
    assert len(pool) == 0


def test_pool_does_not_cache_a_failed_open(tmp_path: Path) -> None:
    pool = EnginePool()

    def broken() -> SourceEngine:
        raise InvalidInputError("url", "bad")

    with pytest.raises(InvalidInputError):
        pool.get("k", broken)
    assert len(pool) == 0
    engine = pool.get(
        "k",
        lambda: open_engine(
            "sqlite", f"sqlite:///{tmp_path / 'x.sqlite'}", warehouse_file=None, settings=Settings()
        ),
    )
    with engine.execute(Statement.plain("SELECT 1")) as execution:
        assert execution.schema.names == ["1"]
    pool.close_all()
