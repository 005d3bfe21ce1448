"""Fixtures of the pipeline engine tests: a real app, a DuckDB test sink and a processor over it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import OpenlyticsError
from openlytics.core.pipeline.processor import PipelineProcessor
from openlytics.core.principal import Principal
from tests.conftest import TestDatabases, make_settings

DUCK_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "float32": "REAL",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "date": "DATE",
}
FROM_DUCK = {v: k for k, v in DUCK_TYPES.items()}


class DuckSink:
    """A small Sink over a DuckDB file (the output side of the processor, for these tests)."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path))
        self.lock = threading.Lock()
        self.fail_loads: str | None = None  # when set, every load fails with this message
        self.loads = 0

    def table_columns(self, schema: str | None, table: str) -> dict[str, str] | None:
        with self.lock:
            rows = self.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema or "main", table],
            ).fetchall()
        return {name: FROM_DUCK.get(kind, "string") for name, kind in rows} or None

    def create_table(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None:
        spec = ", ".join(f'"{n}" {DUCK_TYPES[t]}' for n, t in columns)
        with self.lock:
            self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema or "main"}"')
            self.con.execute(f"CREATE TABLE {self._name(schema, table)} ({spec})")

    def add_columns(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None:
        with self.lock:
            for name, kind in columns:
                self.con.execute(
                    f'ALTER TABLE {self._name(schema, table)} ADD COLUMN "{name}" {DUCK_TYPES[kind]}'
                )

    def load(self, schema: str | None, table: str, data: pa.Table) -> int:
        if self.fail_loads:
            raise OpenlyticsError(self.fail_loads)
        names = ", ".join(f'"{n}"' for n in data.column_names)
        with self.lock:
            self.con.register("incoming_rows", data)
            try:
                self.con.execute(
                    f"INSERT INTO {self._name(schema, table)} ({names}) SELECT {names} FROM incoming_rows"
                )
            finally:
                self.con.unregister("incoming_rows")
        self.loads += 1
        return data.num_rows

    def rows(self, table: str, schema: str = "main", order: str = "1") -> list[tuple[Any, ...]]:
        with self.lock:
            return self.con.execute(f"SELECT * FROM {self._name(schema, table)} ORDER BY {order}").fetchall()

    def values(self, table: str, column: str, schema: str = "main") -> list[Any]:
        with self.lock:
            rows = self.con.execute(
                f'SELECT "{column}" FROM {self._name(schema, table)} ORDER BY 1'
            ).fetchall()
        return [r[0] for r in rows]

    def count(self, table: str, schema: str = "main") -> int:
        with self.lock:
            return int(self.con.execute(f"SELECT count(*) FROM {self._name(schema, table)}").fetchone()[0])  # type: ignore[index]

    @staticmethod
    def _name(schema: str | None, table: str) -> str:
        return f'"{schema or "main"}"."{table}"'


@dataclass
class Result:
    """A transform result for these tests (the Code Engine's TransformResult shape)."""

    event: dict[str, Any] | None
    error: str | None = None
    output: str = ""


def identity(org_id: int, events: list[dict[str, Any]]) -> list[Result]:
    return [Result(event) for event in events]


@dataclass
class Engine:
    """A processor over the app's pipeline services, a DuckDB sink and a replaceable transform."""

    app: Openlytics
    org_id: int
    principal: Principal
    sink: DuckSink
    processor: PipelineProcessor
    transform: Callable[[int, list[dict[str, Any]]], list[Result]] = identity


def start_app(tmp_path: Path, metadata: str = "sqlite") -> tuple[Openlytics, TestDatabases]:
    settings, databases = make_settings(tmp_path / "data", metadata, scheduler_enabled=False)
    app = Openlytics(settings)
    app.start()
    return app, databases


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    core, databases = start_app(tmp_path)
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Openlytics]:
    core, databases = start_app(tmp_path, request.param)
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def system(app: Openlytics) -> Principal:
    return Principal.system(app.identity.organizations()[0].id)


def make_engine(app: Openlytics, path: Path) -> Engine:
    org_id = app.identity.organizations()[0].id
    sink = DuckSink(path)
    holder: dict[str, Engine] = {}
    processor = PipelineProcessor(
        app.db,
        spool=app.pipeline_spool,
        event_types=app.event_types,
        transform=lambda org, events, encoded: holder["engine"].transform(org, events),
        sink_for=lambda org: sink,
        default_schema=lambda org: "main",
        restream=app.restream,
        samples=app.pipeline_samples,
        metrics=app.pipeline_metrics,
        notifications=app.pipeline_notifications,
    )
    engine = Engine(app, org_id, Principal.system(org_id), sink, processor)
    holder["engine"] = engine
    return engine


@pytest.fixture
def engine(app: Openlytics, tmp_path: Path) -> Engine:
    # The app's own worker would process what restream() puts in the spool through the real
    # output; these tests drive their processor themselves.
    app.pipeline_worker.stop()
    return make_engine(app, tmp_path / "out.duckdb")


def event(event_type: str, **fields: Any) -> dict[str, Any]:
    """An event as an input hands it to the spool."""
    return {
        "_metadata": {
            "event_type": event_type,
            "input_label": "hook",
            "received_at": "2026-01-01T00:00:00+00:00",
        },
        **fields,
    }


def drain(engine: Engine) -> None:
    """Process everything waiting in the engine's spool with the engine's processor."""
    while (batch := engine.app.pipeline_spool.claim(engine.org_id)) is not None:
        engine.processor.process_batch(batch)
