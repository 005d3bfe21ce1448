"""Engines on the real databases: the local PostgreSQL and MariaDB, SQLite and DuckDB files in tmp_path."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from openlytics.engines.base import Execution, SourceEngine, Statement
from openlytics.engines.sql import SQLAlchemySourceEngine

POSTGRES_URL = os.environ.get(
    "OPENLYTICS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("OPENLYTICS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def unique_name(prefix: str = "t") -> str:
    """A table name no parallel test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def run_admin_sql(url: str, *statements: str) -> None:
    """Run setup statements outside the engine under test, committed."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def fetch_table(engine: SourceEngine, sql: str | Statement, batch_size: int = 65_536) -> pa.Table:
    """Run a statement to the end and gather its batches."""
    statement = Statement.plain(sql) if isinstance(sql, str) else sql
    with engine.execute(statement, batch_size=batch_size) as execution:
        batches = list(execution.batches())
        return pa.Table.from_batches(batches, schema=execution.schema)


def drain(execution: Execution) -> list[Any]:
    """Read an execution to its end."""
    return list(execution.batches())


@pytest.fixture
def pg_engine() -> Iterator[SQLAlchemySourceEngine]:
    engine = SQLAlchemySourceEngine(POSTGRES_URL)
    yield engine
    engine.close()


@pytest.fixture
def mysql_engine() -> Iterator[SQLAlchemySourceEngine]:
    engine = SQLAlchemySourceEngine(MARIADB_URL)
    yield engine
    engine.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "source.sqlite"


@pytest.fixture
def sqlite_engine(sqlite_path: Path) -> Iterator[SQLAlchemySourceEngine]:
    engine = SQLAlchemySourceEngine(f"sqlite:///{sqlite_path}")
    yield engine
    engine.close()


@pytest.fixture
def pg_table() -> Iterator[str]:
    """A unique table name on PostgreSQL, dropped afterwards."""
    name = unique_name()
    yield name
    run_admin_sql(POSTGRES_URL, f'DROP VIEW IF EXISTS "{name}_v"', f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture
def mysql_table() -> Iterator[str]:
    """A unique table name on MariaDB, dropped afterwards."""
    name = unique_name()
    yield name
    run_admin_sql(MARIADB_URL, f"DROP VIEW IF EXISTS `{name}_v`", f"DROP TABLE IF EXISTS `{name}`")


def mysql_processlist_has(text: str) -> bool:
    """Whether a statement containing `text` is still running on MariaDB."""
    engine = sa.create_engine(MARIADB_URL)
    try:
        with engine.connect() as conn:
            infos = conn.exec_driver_sql("SELECT info FROM information_schema.processlist").scalars().all()
    finally:
        engine.dispose()
    return any(info and text in info and "processlist" not in info for info in infos)
