"""Shared fixtures of the dataset service tests: an in-process application and principals by role.

The `warehouse` fixture runs each module once per warehouse engine of `OPENLYTICS_TEST_WAREHOUSES`
(default "duckdb,postgresql"): the embedded DuckDB file, and a fresh database on the local PostgreSQL
server as the PostgreSQL warehouse (docs/scale-out.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from openlytics.app import Openlytics
from openlytics.core.datasets.service import DatasetService
from openlytics.core.principal import Principal, Role
from tests.conftest import make_settings, postgres_warehouse

WAREHOUSES = os.environ.get("OPENLYTICS_TEST_WAREHOUSES", "duckdb,postgresql").split(",")


@dataclass
class Warehouse:
    """The application and one principal per role, in the bootstrap organization."""

    app: Openlytics
    editor: Principal
    viewer: Principal
    admin: Principal

    @property
    def datasets(self) -> DatasetService:
        return self.app.datasets

    @property
    def engine(self) -> str:
        """The warehouse engine of the organization: "duckdb" or "postgresql"."""
        return self.app.sources.sql_dialect(self.app.sources.default(self.admin)) or "duckdb"


def principal(org_id: int, role: Role) -> Principal:
    return Principal(org_id=org_id, user_id=None, role=role, credential="user_key")


@contextmanager
def warehouse_application(data_dir: Path, engine: str) -> Iterator[Warehouse]:
    """An application (SQLite metadata) whose bootstrap organization's warehouse runs on `engine`."""
    if engine == "postgresql":
        with postgres_warehouse() as url, _application(data_dir, warehouse_url=url) as warehouse:
            yield warehouse
    else:
        with _application(data_dir) as warehouse:
            yield warehouse


@contextmanager
def _application(data_dir: Path, **overrides: object) -> Iterator[Warehouse]:
    settings, databases = make_settings(
        data_dir, "sqlite", warehouse="duckdb", scheduler_enabled=False, **overrides
    )
    try:
        app = Openlytics(settings)
        app.start()
        try:
            org_id = app.identity.organizations()[0].id
            yield Warehouse(
                app,
                principal(org_id, Role.EDITOR),
                principal(org_id, Role.VIEWER),
                principal(org_id, Role.ADMIN),
            )
        finally:
            app.stop()
    finally:
        databases.drop()


@pytest.fixture(scope="module", name="warehouse", params=WAREHOUSES)
def warehouse_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    """One application per test module and warehouse engine (SQLite metadata, a real warehouse)."""
    data_dir: Path = tmp_path_factory.mktemp(f"datasets-{request.param}") / "data"
    with warehouse_application(data_dir, request.param) as warehouse:
        yield warehouse
