"""Shared fixtures of the dataset service tests: an in-process application and principals by role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from openlytics.app import Openlytics
from openlytics.core.datasets.service import DatasetService
from openlytics.core.principal import Principal, Role
from tests.conftest import make_settings


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


def principal(org_id: int, role: Role) -> Principal:
    return Principal(org_id=org_id, user_id=None, role=role, credential="user_key")


@pytest.fixture(scope="module", name="warehouse")
def warehouse_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One application per test module (SQLite metadata, a real DuckDB warehouse)."""
    data_dir: Path = tmp_path_factory.mktemp("datasets") / "data"
    settings, _ = make_settings(data_dir, "sqlite", scheduler_enabled=False)
    app = Openlytics(settings)
    app.start()
    org_id = app.identity.organizations()[0].id
    yield Warehouse(
        app, principal(org_id, Role.EDITOR), principal(org_id, Role.VIEWER), principal(org_id, Role.ADMIN)
    )
    app.stop()
