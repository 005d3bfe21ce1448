"""Retention: old jobs and results go, files included; a query's latest result stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from openlytics.store.models import Job, QueryResult
from openlytics.store.types import utcnow
from tests.conftest import METADATA_BACKENDS, make_settings


@pytest.fixture(params=METADATA_BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", request.param, scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


def age(app: Openlytics, days: float) -> None:
    past = utcnow() - timedelta(days=days)
    with app.db.session() as s:
        s.execute(sa.update(QueryResult).values(retrieved_at=past))
        s.execute(sa.update(Job).values(created_at=past))


def test_purge_removes_old_results_and_jobs_but_keeps_latest_results(app: Openlytics) -> None:
    admin = Principal.system(app.identity.organizations()[0].id)
    adhoc = [app.jobs.run_adhoc(admin, f"SELECT {i} AS i", wait=10) for i in range(3)]
    query = app.queries.create(admin, name="kept", sql="SELECT 42 AS answer")
    saved = app.jobs.run_saved(admin, query.id, wait=10)
    assert all(o.result is not None for o in [*adhoc, saved])
    files = {o.result.id: app.results.absolute(o.result.path) for o in [*adhoc, saved] if o.result}
    assert all(path.exists() for path in files.values())

    assert app.purge().results == 0  # nothing is old yet
    age(app, days=40)
    purged = app.purge()
    assert purged.results == 3 and purged.jobs == 4

    with app.db.session() as s:
        remaining = set(s.scalars(sa.select(QueryResult.id)))
        jobs_left = s.scalar(sa.select(sa.func.count()).select_from(Job))
    assert saved.result is not None and remaining == {saved.result.id}
    assert jobs_left == 0
    assert files[saved.result.id].exists()
    assert not [p for rid, p in files.items() if rid != saved.result.id and p.exists()]
    # The kept result still serves its query.
    assert app.jobs.run_saved(admin, query.id, max_age=-1, wait=10).result.id == saved.result.id


def test_files_no_row_points_at_are_swept_after_a_grace_period(app: Openlytics) -> None:
    import os
    import time

    from openlytics.core.jobs.retention import sweep_orphan_files

    admin = Principal.system(app.identity.organizations()[0].id)
    kept = app.jobs.run_adhoc(admin, "SELECT 1 AS one", wait=10).result
    assert kept is not None
    root = app.results.root
    orphan = root / "some-org" / "0123456789abcdef.arrows"
    stale_temp = root / "some-org" / ".fedcba9876543210.arrows.tmp"
    young = root / "some-org" / "young.arrows"
    for f in (orphan, stale_temp, young):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"not referenced")
    old = time.time() - 7200
    for f in (orphan, stale_temp, app.results.absolute(kept.path)):
        os.utime(f, (old, old))

    assert sweep_orphan_files(app.db, app.results) == 2
    assert not orphan.exists() and not stale_temp.exists()
    assert young.exists() and app.results.absolute(kept.path).exists()
