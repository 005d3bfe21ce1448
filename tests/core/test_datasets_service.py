"""DatasetService: create, append, upsert, delete, versions, restore, permissions, push tokens."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import pyarrow as pa
import pytest

from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.structured_query import Condition
from openlytics.core.errors import (
    ConflictError,
    IncompatibleValueError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.principal import Principal, Role
from tests.core.datasets_fixtures import Warehouse, warehouse_app  # noqa: F401

COLUMNS = [
    {"name": "id", "type": "int"},
    {"name": "amount", "type": "float"},
    {"name": "at", "type": "datetime"},
]


def unique(prefix: str = "ds") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def rows_of(w: Warehouse, dataset_id: int, **kwargs: object) -> list[dict[str, object]]:
    return w.datasets.read(w.editor, dataset_id, **kwargs).read_all().to_pylist()  # type: ignore[arg-type]


def sql(w: Warehouse, text: str) -> list[dict[str, object]]:
    outcome = w.app.jobs.run_adhoc(w.editor, text, wait=30, max_age=0)
    assert outcome.result is not None
    return w.app.jobs.inline_rows(outcome.result)


def test_create_with_columns_makes_an_empty_queryable_table(warehouse: Warehouse) -> None:
    w = warehouse
    name = unique()
    ds = w.datasets.create(w.editor, name=name, columns=COLUMNS, primary_key=["id"], description="d")
    assert ds.columns == [
        {"name": "id", "type": "int64"},
        {"name": "amount", "type": "float64"},
        {"name": "at", "type": "datetime"},
    ]
    assert ds.version == 1 and ds.row_count == 0 and ds.primary_key == ["id"]
    assert sql(w, f'SELECT count(*) AS n FROM "{name}"') == [{"n": 0}]
    assert w.datasets.get(w.viewer, str(ds.uuid)).id == ds.id
    assert w.datasets.find_by_name(w.viewer, name).id == ds.id  # type: ignore[union-attr]
    assert any(d.id == ds.id for d in w.datasets.list(w.viewer, search=name).items)
    with pytest.raises(ConflictError):
        w.datasets.create(w.editor, name=name)


def test_append_coerces_values_and_names_the_bad_row_and_column(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique(), columns=COLUMNS)
    result = w.datasets.append(
        w.editor,
        ds.id,
        LoadSource.from_rows([{"id": 1, "amount": "2.5", "at": "2024-01-01T10:00:00+02:00"}, {"id": 2}]),
    )
    assert result.inserted == 2 and result.row_count == 2
    with pytest.raises(IncompatibleValueError) as caught:
        w.datasets.append(
            w.editor, ds.id, LoadSource.from_rows([{"id": 3, "amount": 1}, {"id": 4, "amount": "3,4"}])
        )
    error = caught.value
    assert (error.row, error.column, error.value, error.expected_type) == (1, "amount", "3,4", "float64")
    assert "row 1" in error.message and "amount" in error.message and "3,4" in error.message
    assert rows_of(w, ds.id) == [
        {"id": 1, "amount": 2.5, "at": dt.datetime(2024, 1, 1, 8, 0)},
        {"id": 2, "amount": None, "at": None},
    ]
    with pytest.raises(InvalidInputError):
        w.datasets.append(w.editor, ds.id, LoadSource.from_rows([{"nope": 1}]))


def test_first_insert_into_an_empty_dataset_defines_the_schema(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique())
    assert ds.columns == [] and ds.table_name is None
    result = w.datasets.append(
        w.editor,
        ds.id,
        LoadSource.from_rows(
            [{"n": 1, "x": 1.5, "ok": True, "day": "2024-01-02", "at": "2024-01-02T03:04:05", "s": "a"}]
        ),
    )
    assert result.dataset.columns == [
        {"name": "n", "type": "int64"},
        {"name": "x", "type": "float64"},
        {"name": "ok", "type": "bool"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "s", "type": "string"},
    ]
    assert rows_of(w, ds.id)[0]["day"] == dt.date(2024, 1, 2)


def test_upsert_replaces_by_key_and_last_duplicate_wins(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique(), columns=COLUMNS, primary_key=["id"])
    w.datasets.append(w.editor, ds.id, LoadSource.from_arrays(["id", "amount"], [[1, 1.0], [2, 2.0]]))
    result = w.datasets.upsert(
        w.editor,
        ds.id,
        LoadSource.from_rows([{"id": 2, "amount": 20}, {"id": 3, "amount": 3}, {"id": 3, "amount": 30}]),
        ["id"],
    )
    assert (result.inserted, result.updated, result.row_count) == (1, 1, 3)
    assert sorted((r["id"], r["amount"]) for r in rows_of(w, ds.id)) == [(1, 1.0), (2, 20.0), (3, 30.0)]


def test_delete_rows_by_keys_and_by_filters(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique(), columns=COLUMNS, primary_key=["id"])
    w.datasets.append(w.editor, ds.id, LoadSource.from_rows([{"id": i, "amount": i * 10} for i in range(6)]))
    assert w.datasets.delete_rows(w.editor, ds.id, keys=[0, 1]).deleted == 2
    deleted = w.datasets.delete_rows(w.editor, ds.id, filters=[Condition("amount", ">=", 40)])
    assert deleted.deleted == 2 and deleted.row_count == 2
    assert (
        w.datasets.delete_rows(
            w.editor, ds.id, filters=[Condition("id", "in", (2, 3))], first_only=True
        ).deleted
        == 1
    )
    assert [r["id"] for r in rows_of(w, ds.id)] == [3]


def test_reload_replaces_schema_and_keeps_versions_for_restore(warehouse: Warehouse) -> None:
    w = warehouse
    name = unique()
    ds = w.datasets.create(w.editor, name=name, columns=COLUMNS)
    w.datasets.append(w.editor, ds.id, LoadSource.from_rows([{"id": 1, "amount": 1.5}]))
    frame = pd.DataFrame({"city": ["Zürich", "Genève"], "sales": [1, 2], "day": ["2024-01-01", "2024-01-02"]})
    reloaded = w.datasets.reload(
        w.editor, ds.id, LoadSource.from_dataframe(frame), force_types={"sales": "float"}
    )
    assert reloaded.dataset.version == 2
    assert reloaded.dataset.columns == [
        {"name": "city", "type": "string"},
        {"name": "sales", "type": "float64"},
        {"name": "day", "type": "date"},
    ]
    assert sql(w, f'SELECT city FROM "{name}" ORDER BY sales') == [{"city": "Zürich"}, {"city": "Genève"}]
    assert [(v.version, v.operation) for v in w.datasets.versions(w.viewer, ds.id)] == [
        (2, "reload"),
        (1, "create"),
    ]
    assert rows_of(w, ds.id, version=1) == [{"id": 1, "amount": 1.5, "at": None}]
    restored = w.datasets.restore(w.editor, ds.id, 1)
    assert restored.version == 3 and restored.columns[0]["name"] == "id"
    assert sql(w, f'SELECT id FROM "{name}"') == [{"id": 1}]
    assert rows_of(w, ds.id, limit=0) == []


def test_reload_from_arrow_and_old_versions_are_pruned(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique())
    for i in range(12):
        table = pa.table(
            {"i": pa.array([i], pa.int32()), "at": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("ns"))}
        )
        result = w.datasets.reload(w.editor, ds.id, LoadSource.from_arrow(table))
    assert result.dataset.columns == [{"name": "i", "type": "int32"}, {"name": "at", "type": "datetime"}]
    versions = [v.version for v in w.datasets.versions(w.editor, ds.id)]
    assert versions == list(range(12, 2, -1))
    tables = w.app.sources.engine(w.app.sources.default(w.editor)).warehouse_tables()
    assert len(tables.table_names(f"_ds_{ds.id}_v")) == 10
    with pytest.raises(NotFoundError):
        w.datasets.restore(w.editor, ds.id, 1)


def test_writes_invalidate_cached_results(warehouse: Warehouse) -> None:
    w = warehouse
    name = unique()
    ds = w.datasets.create(w.editor, name=name, columns=COLUMNS)
    query = f'SELECT count(*) AS n FROM "{name}"'
    assert w.app.jobs.run_adhoc(w.editor, query, wait=30).result is not None
    w.datasets.append(w.editor, ds.id, LoadSource.from_rows([{"id": 1}]))
    cached = w.app.jobs.run_adhoc(w.editor, query, wait=30, max_age=3600)
    assert cached.result is not None and w.app.jobs.inline_rows(cached.result) == [{"n": 1}]
    assert w.datasets.get(w.editor, ds.id).cache_generation >= 2


def test_roles_and_organizations(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.admin, name=unique(), columns=COLUMNS)
    with pytest.raises(PermissionDeniedError):
        w.datasets.append(w.viewer, ds.id, LoadSource.from_rows([{"id": 1}]))
    with pytest.raises(PermissionDeniedError):
        w.datasets.create(w.viewer, name=unique())
    query_key = Principal(
        org_id=w.editor.org_id, user_id=None, role=Role.VIEWER, credential="query_key", query_scope=1
    )
    with pytest.raises(PermissionDeniedError):
        w.datasets.get(query_key, ds.id)
    stranger = Principal(org_id=w.editor.org_id + 1000, user_id=None, role=Role.ADMIN, credential="user_key")
    with pytest.raises(NotFoundError):
        w.datasets.get(stranger, ds.id)
    w.datasets.update_settings(
        w.editor, ds.id, name=ds.name + "_renamed", primary_key=["id"], options={"x": 1}
    )
    assert sql(w, f'SELECT count(*) AS n FROM "{ds.name}_renamed"') == [{"n": 0}]
    w.datasets.delete(w.editor, ds.id)
    with pytest.raises(NotFoundError):
        w.datasets.get(w.editor, ds.id)


def test_push_token_reaches_only_its_dataset(warehouse: Warehouse) -> None:
    w = warehouse
    ds = w.datasets.create(w.editor, name=unique(), columns=COLUMNS)
    other = w.datasets.create(w.editor, name=unique(), columns=COLUMNS)
    token = w.datasets.push_token(w.editor, ds.id)
    assert w.datasets.push_token(w.editor, ds.id) == token
    pusher, found = w.datasets.resolve_push_token(token)
    assert found.id == ds.id
    assert w.datasets.append(pusher, ds.id, LoadSource.from_rows([{"id": 7}])).row_count == 1
    with pytest.raises(NotFoundError):
        w.datasets.append(pusher, other.id, LoadSource.from_rows([{"id": 7}]))
    for forbidden in (
        lambda: w.datasets.read(pusher, ds.id),
        lambda: w.datasets.reload(pusher, ds.id, LoadSource.from_rows([{"id": 1}])),
        lambda: w.datasets.delete_rows(pusher, ds.id, keys=[7], key=["id"]),
        lambda: w.app.queries.create(pusher, name="x", sql="SELECT 1"),
    ):
        with pytest.raises(PermissionDeniedError):
            forbidden()
    with pytest.raises(PermissionDeniedError):
        w.datasets.resolve_push_token("olp_wrong")
