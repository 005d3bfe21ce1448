"""Fixtures shared by the runtime tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openlytics.app import Openlytics
from openlytics.settings import Settings
from tests.conftest import METADATA_BACKENDS, FreshPostgresDatabase


@pytest.fixture(params=METADATA_BACKENDS)
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Openlytics]:
    """A migrated application with its bootstrap organization, on each metadata backend (nothing
    started: the store-level tests of liveness, claims and recovery drive it by hand)."""
    pg = FreshPostgresDatabase.create("ol_live") if request.param == "postgresql" else None
    app = Openlytics(Settings(data_dir=tmp_path / "data", database_url=pg.url if pg else ""))
    try:
        app.db.migrate()
        app.identity.bootstrap(
            org_name="o", admin_email="a@o.test", admin_name="a", admin_password=None, admin_api_key=None
        )
        yield app
    finally:
        app.stop()
        if pg is not None:
            pg.drop()
