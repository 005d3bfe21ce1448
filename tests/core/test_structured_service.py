"""Structured queries over a dataset's warehouse table, run as cached jobs by the real application."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.datasets.structured_query import parse_structured_query
from openlytics.core.datasets.structured_service import (
    DatasetLookup,
    EmptyDatasetError,
    StructuredQueryService,
)
from openlytics.core.errors import NotFoundError, PermissionDeniedError, QueryFailedError
from openlytics.core.principal import Principal, Role
from openlytics.store.models import Dataset, DataSource
from tests.conftest import make_settings

COLUMNS = [
    {"name": "id", "type": "int64"},
    {"name": "quarter", "type": "string"},
    {"name": "sales", "type": "int64"},
]
BY_QUARTER = {
    "select": ["quarter", {"name": "sales", "agg_function": "sum"}],
    "order_by": [{"name": "sales", "agg_function": "sum", "direction": "desc"}],
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def admin(app: Openlytics) -> Principal:
    return Principal.system(app.identity.organizations()[0].id)


@pytest.fixture
def viewer(admin: Principal) -> Principal:
    return Principal(org_id=admin.org_id, user_id=None, role=Role.VIEWER, credential="user_key")


def lookup(app: Openlytics) -> DatasetLookup:
    def find(principal: Principal, dataset_id: int) -> Dataset:
        with app.db.session() as s:
            dataset = s.get(Dataset, dataset_id)
        if dataset is None or dataset.org_id != principal.org_id:
            raise NotFoundError("dataset", dataset_id)
        return dataset

    return find


@pytest.fixture
def service(app: Openlytics) -> StructuredQueryService:
    return StructuredQueryService(app.db, app.jobs, lookup(app))


def sql(app: Openlytics, admin: Principal, statement: str) -> None:
    outcome = app.jobs.run_adhoc(admin, statement, wait=10)
    assert outcome.result is not None, outcome.job and outcome.job.error


@pytest.fixture
def dataset(app: Openlytics, admin: Principal) -> Dataset:
    sql(app, admin, "CREATE TABLE ds_1_v1 (id BIGINT, quarter VARCHAR, sales BIGINT)")
    sql(app, admin, "INSERT INTO ds_1_v1 VALUES (1, 'Q1', 120), (2, 'Q2', 80), (3, 'Q2', 85)")
    warehouse = app.sources.default(admin)
    with app.db.session() as s:
        row = Dataset(
            org_id=admin.org_id,
            data_source_id=warehouse.id,
            name="sales",
            table_name="ds_1_v1",
            columns=COLUMNS,
        )
        s.add(row)
    return row


def bump_dataset(app: Openlytics, dataset: Dataset) -> Dataset:
    with app.db.session() as s:
        s.execute(
            sa.update(Dataset)
            .where(Dataset.id == dataset.id)
            .values(cache_generation=Dataset.cache_generation + 1)
        )
        fresh = s.get(Dataset, dataset.id)
    assert fresh is not None
    return fresh


def test_a_viewer_reads_a_dataset_by_rows_and_by_columns(
    service: StructuredQueryService, viewer: Principal, dataset: Dataset
) -> None:
    answer = service.run(viewer, dataset, BY_QUARTER, wait=10)
    assert answer.columns == [("quarter", "string"), ("sales", "int64")]
    assert answer.data == [["Q2", 165], ["Q1", 120]]
    assert answer.job is not None and "dataset" in answer.job.sql_text
    by_columns = service.run(
        viewer, dataset, parse_structured_query(BY_QUARTER), order="column_by_column", wait=10
    )
    assert by_columns.data == [["Q2", "Q1"], [165, 120]]


def test_results_come_from_the_cache_until_the_dataset_changes(
    app: Openlytics, service: StructuredQueryService, admin: Principal, viewer: Principal, dataset: Dataset
) -> None:
    first = service.run(viewer, dataset, BY_QUARTER, wait=10)
    cached = service.run(viewer, dataset, BY_QUARTER, max_age=-1, wait=10)
    assert cached.job is None and cached.result is not None and first.result is not None
    assert cached.result.id == first.result.id

    sql(app, admin, "INSERT INTO ds_1_v1 VALUES (4, 'Q1', 100)")
    assert service.run(viewer, dataset, BY_QUARTER, max_age=-1, wait=10).data == [["Q2", 165], ["Q1", 120]]

    # The dataset service bumps the warehouse's cache generation on every write ...
    warehouse = app.sources.default(admin)
    app.sources.invalidate_cache(admin, warehouse.id)
    fresh = service.run(viewer, dataset, BY_QUARTER, max_age=-1, wait=10)
    assert fresh.job is not None and fresh.data == [["Q1", 220], ["Q2", 165]]

    # ... and a dataset's own generation makes its results stale too.
    sql(app, admin, "INSERT INTO ds_1_v1 VALUES (5, 'Q3', 1)")
    assert service.run(viewer, dataset, BY_QUARTER, max_age=-1, wait=10).data == [["Q1", 220], ["Q2", 165]]
    newer = service.run_by_id(viewer, bump_dataset(app, dataset).id, BY_QUARTER, max_age=-1, wait=10)
    assert newer.data == [["Q1", 220], ["Q2", 165], ["Q3", 1]]


def test_an_empty_dataset_is_an_error(
    app: Openlytics, service: StructuredQueryService, admin: Principal, dataset: Dataset
) -> None:
    with app.db.session() as s:
        empty = Dataset(org_id=admin.org_id, data_source_id=dataset.data_source_id, name="empty", columns=[])
        s.add(empty)
    with pytest.raises(EmptyDatasetError) as caught:
        service.run(admin, empty, BY_QUARTER)
    assert caught.value.dataset_id == empty.id


def test_query_keys_public_links_and_other_organizations_are_refused(
    service: StructuredQueryService, admin: Principal, dataset: Dataset
) -> None:
    query_key = Principal(admin.org_id, None, Role.VIEWER, "query_key", query_scope=1)
    with pytest.raises(PermissionDeniedError):
        service.run(query_key, dataset, BY_QUARTER)
    with pytest.raises(PermissionDeniedError):
        service.run(Principal.public(admin.org_id), dataset, BY_QUARTER)
    with pytest.raises(NotFoundError):
        service.run(Principal.system(admin.org_id + 1000), dataset, BY_QUARTER)
    with pytest.raises(NotFoundError):
        service.run_by_id(Principal.system(admin.org_id + 1000), dataset.id, BY_QUARTER)


def test_an_engine_failure_is_a_query_failed_error(
    app: Openlytics, service: StructuredQueryService, viewer: Principal, dataset: Dataset
) -> None:
    with app.db.session() as s:
        s.execute(
            sa.update(Dataset)
            .where(Dataset.id == dataset.id)
            .values(columns=[*COLUMNS, {"name": "gone", "type": "string"}])
        )
        broken = s.get(Dataset, dataset.id)
    assert broken is not None
    with pytest.raises(QueryFailedError, match="gone"):
        service.run(viewer, broken, {"select": ["gone"]}, wait=10)


def test_the_plan_reads_the_source_afresh(
    app: Openlytics, service: StructuredQueryService, admin: Principal, dataset: Dataset
) -> None:
    plan, compiled = service.plan(admin, dataset, {"select": ["id"]})
    with app.db.session() as s:
        source = s.get(DataSource, dataset.data_source_id)
    assert source is not None and plan.source.id == source.id
    assert plan.statement.display_sql() == compiled.sql
    assert compiled.sql == f'/* dataset {dataset.id} generation 0 */ SELECT "id" AS "id" FROM "ds_1_v1"'
