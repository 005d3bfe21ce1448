"""Dataset rebuilds from a source query (every method), updates in place, paged reads."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pytest

from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.rebuilds import REBUILD_METHODS
from openlytics.core.datasets.structured_query import Condition
from openlytics.core.errors import (
    InvalidInputError,
    NotFoundError,
    OpenlyticsError,
    PermissionDeniedError,
)
from openlytics.core.principal import Principal, Role
from openlytics.engines.base import WarehouseTables
from tests.core.datasets_fixtures import Warehouse, warehouse_app  # noqa: F401


def unique(prefix: str = "ds") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def tables(w: Warehouse) -> WarehouseTables:
    return w.app.sources.engine(w.app.sources.default(w.admin)).warehouse_tables()


def set_source(w: Warehouse, name: str, data: dict[str, pa.Array]) -> None:
    """(Re)create the warehouse table the source query reads, as a view over a loaded table (as
    datasets are: a PostgreSQL warehouse table has a hidden row column that `SELECT *` would show)."""
    drop_source(w, name)
    tables(w).load_table(f"{name}_data", pa.table(data).to_reader())
    tables(w).point_view(name, f"{name}_data")


def drop_source(w: Warehouse, name: str) -> None:
    tables(w).drop_view(name)
    tables(w).drop_tables([f"{name}_data"])


def rows(w: Warehouse, dataset_id: int, **kwargs: object) -> list[dict[str, object]]:
    return w.datasets.read(w.editor, dataset_id, **kwargs).read_all().to_pylist()  # type: ignore[arg-type]


def types_of(w: Warehouse, dataset_id: int) -> dict[str, str]:
    return {c["name"]: c["type"] for c in w.datasets.get(w.editor, dataset_id).columns}


def refreshable(
    w: Warehouse, *, columns: list[dict[str, str]] | None = None, key: bool = True
) -> tuple[int, str]:
    """A dataset whose source query reads a fresh warehouse table `src_...` of three rows."""
    table = unique("src")
    set_source(
        w,
        table,
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "amount": pa.array([10, 20, 30], pa.int64()),
            "label": pa.array(["a", "b", "c"]),
        },
    )
    query = w.app.queries.create(w.editor, name=unique("q"), sql=f"SELECT * FROM {table} ORDER BY id")
    dataset = w.datasets.create(
        w.editor,
        name=unique(),
        columns=columns,
        primary_key=["id"] if key else None,
        source_query_id=query.id,
    )
    return dataset.id, table


TYPED = [
    {"name": "id", "type": "int32"},
    {"name": "amount", "type": "float64"},
    {"name": "label", "type": "string"},
]


def test_reload_replaces_rows_keeps_types_and_follows_dropped_and_new_columns(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, table = refreshable(w, columns=TYPED)
    before = w.datasets.get(w.editor, dataset_id)
    assert before.last_rebuilt_at is None

    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    assert outcome.rebuilt and outcome.method == "reload"
    assert (outcome.rows_read, outcome.inserted, outcome.updated) == (3, 3, 0)
    assert outcome.dataset.version == before.version + 1
    assert outcome.dataset.last_rebuilt_at is not None
    assert types_of(w, dataset_id) == {"id": "int32", "amount": "float64", "label": "string"}
    assert rows(w, dataset_id) == [
        {"id": 1, "amount": 10.0, "label": "a"},
        {"id": 2, "amount": 20.0, "label": "b"},
        {"id": 3, "amount": 30.0, "label": "c"},
    ]

    set_source(
        w, table, {"id": pa.array([7], pa.int64()), "amount": pa.array([5], pa.int64()), "note": ["n"]}
    )
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    assert outcome.dataset.version == before.version + 2
    assert types_of(w, dataset_id) == {"id": "int32", "amount": "float64", "note": "string"}
    assert rows(w, dataset_id) == [{"id": 7, "amount": 5.0, "note": "n"}]
    assert [v.operation for v in w.datasets.versions(w.editor, dataset_id)][:2] == ["reload", "reload"]


def test_recreate_picks_up_a_changed_schema(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, table = refreshable(w, columns=TYPED)
    w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    version = w.datasets.get(w.editor, dataset_id).version
    set_source(w, table, {"id": pa.array([1, 2], pa.int64()), "amount": pa.array(["x", "y"])})
    # reload keeps the float type of amount: the text does not fit, nothing changes
    with pytest.raises(InvalidInputError):
        w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    assert w.datasets.get(w.editor, dataset_id).version == version
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "recreate")
    assert outcome.dataset.version == version + 1
    assert types_of(w, dataset_id) == {"id": "int64", "amount": "string"}
    assert rows(w, dataset_id) == [{"id": 1, "amount": "x"}, {"id": 2, "amount": "y"}]


def test_append_adds_the_rows_without_a_new_version(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, table = refreshable(w, columns=TYPED)
    w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    version = w.datasets.get(w.editor, dataset_id).version
    set_source(
        w, table, {"id": pa.array([4], pa.int64()), "amount": pa.array([40], pa.int64()), "label": ["d"]}
    )
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "append")
    assert (outcome.inserted, outcome.dataset.row_count, outcome.dataset.version) == (1, 4, version)
    assert [r["id"] for r in rows(w, dataset_id)] == [1, 2, 3, 4]


def test_update_changes_only_existing_keys_and_updateappend_upserts(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, table = refreshable(w, columns=TYPED)
    w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    version = w.datasets.get(w.editor, dataset_id).version
    set_source(
        w,
        table,
        {"id": pa.array([2, 9], pa.int64()), "amount": pa.array([99, 90], pa.int64()), "label": ["B", "new"]},
    )
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "update")
    assert (outcome.rows_read, outcome.inserted, outcome.updated) == (2, 0, 1)
    assert outcome.dataset.version == version
    assert rows(w, dataset_id) == [
        {"id": 1, "amount": 10.0, "label": "a"},
        {"id": 2, "amount": 99.0, "label": "B"},  # updated in place: the order is kept
        {"id": 3, "amount": 30.0, "label": "c"},
    ]
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "updateappend")
    assert (outcome.inserted, outcome.updated, outcome.dataset.row_count) == (1, 1, 4)
    assert sorted((r["id"], r["amount"], r["label"]) for r in rows(w, dataset_id)) == [
        (1, 10.0, "a"),
        (2, 99.0, "B"),
        (3, 30.0, "c"),
        (9, 90.0, "new"),
    ]
    assert types_of(w, dataset_id) == {"id": "int32", "amount": "float64", "label": "string"}


def test_keyed_methods_need_a_primary_key(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, _ = refreshable(w, columns=TYPED, key=False)
    for method in ("update", "updateappend"):
        with pytest.raises(InvalidInputError) as caught:
            w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, method)
        assert caught.value.field == "method" and "primary key" in caught.value.reason
    assert w.datasets.get(w.editor, dataset_id).row_count == 0


@pytest.mark.parametrize("method", REBUILD_METHODS)
def test_every_method_loads_a_dataset_without_schema(warehouse: Warehouse, method: str) -> None:
    w = warehouse
    dataset_id, _ = refreshable(w)
    assert w.datasets.get(w.editor, dataset_id).columns == []
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, method)
    assert outcome.rebuilt and outcome.dataset.row_count == 3
    assert types_of(w, dataset_id) == {"id": "int64", "amount": "int64", "label": "string"}
    assert outcome.dataset.primary_key == ["id"]


def test_a_failing_source_query_leaves_the_dataset_as_it_was(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, table = refreshable(w, columns=TYPED)
    w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "reload")
    before = w.datasets.get(w.editor, dataset_id)
    data_before = rows(w, dataset_id)
    drop_source(w, table)
    for method in REBUILD_METHODS:
        with pytest.raises(OpenlyticsError) as caught:
            w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, method)
        assert table in str(caught.value)  # the query's own error
    after = w.datasets.get(w.editor, dataset_id)
    assert (after.version, after.columns, after.row_count) == (
        before.version,
        before.columns,
        before.row_count,
    )
    assert after.last_rebuilt_at == before.last_rebuilt_at
    assert rows(w, dataset_id) == data_before


def test_unknown_method_custom_tables_and_permissions(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id, _ = refreshable(w, columns=TYPED)
    with pytest.raises(InvalidInputError) as caught:
        w.app.dataset_rebuilds.rebuild(w.editor, dataset_id, "replace")
    assert caught.value.field == "method"
    assert caught.value.reason == "one of reload, recreate, update, updateappend, append"
    with pytest.raises(PermissionDeniedError):
        w.app.dataset_rebuilds.rebuild(w.viewer, dataset_id, "reload")
    with pytest.raises(NotFoundError):
        w.app.dataset_rebuilds.rebuild(
            Principal(org_id=10**6, user_id=None, role=Role.ADMIN, credential="user_key"), dataset_id
        )

    custom = w.datasets.create(w.editor, name=unique(), columns=TYPED)
    outcome = w.app.dataset_rebuilds.rebuild(w.editor, custom.id, "reload")
    assert outcome.rebuilt is False and "custom table" in outcome.message
    after = w.datasets.get(w.editor, custom.id)
    assert (after.version, after.last_rebuilt_at) == (custom.version, None)


def test_source_query_must_exist_in_the_organization_and_can_be_cleared(warehouse: Warehouse) -> None:
    w = warehouse
    with pytest.raises(NotFoundError):
        w.datasets.create(w.editor, name=unique(), source_query_id=10**9)
    dataset_id, _ = refreshable(w)
    query_id = w.datasets.get(w.editor, dataset_id).source_query_id
    assert query_id is not None
    with pytest.raises(NotFoundError):
        w.datasets.update_settings(w.editor, dataset_id, source_query_id=10**9)
    assert w.datasets.update_settings(w.editor, dataset_id, description="kept").source_query_id == query_id
    assert w.datasets.update_settings(w.editor, dataset_id, source_query_id=None).source_query_id is None
    assert (
        w.datasets.update_settings(w.editor, dataset_id, source_query_id=query_id).source_query_id == query_id
    )
    key = Principal(
        org_id=w.editor.org_id, user_id=None, role=Role.EDITOR, credential="query_key", query_scope=-1
    )
    with pytest.raises(PermissionDeniedError):
        w.datasets.update_settings(key, dataset_id, source_query_id=query_id)


# ----- updates in place ---------------------------------------------------------------------------
def people(w: Warehouse) -> int:
    dataset = w.datasets.create(
        w.editor,
        name=unique(),
        columns=[
            {"name": "id", "type": "int32"},
            {"name": "name", "type": "string"},
            {"name": "score", "type": "float64"},
            {"name": "seen", "type": "datetime"},
        ],
        primary_key=["id"],
    )
    w.datasets.append(
        w.editor,
        dataset.id,
        LoadSource.from_rows(
            [
                {"id": 1, "name": "ann", "score": 1.0, "seen": "2024-01-01T00:00:00"},
                {"id": 2, "name": "bob", "score": 2.0, "seen": "2024-01-02T00:00:00"},
                {"id": 3, "name": "bob", "score": 3.0, "seen": "2024-01-03T00:00:00"},
            ]
        ),
    )
    return dataset.id


def test_update_where_sets_values_on_matching_rows_in_place(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id = people(w)
    generation = w.datasets.get(w.editor, dataset_id).cache_generation
    result = w.datasets.update_where(
        w.editor,
        dataset_id,
        filters=[Condition("name", "==", "bob")],
        values={"score": "7.5", "name": "O'Brien'); DROP TABLE x; --", "seen": "2025-05-05T10:00:00"},
    )
    assert (result.updated, result.row_count) == (2, 3)
    assert w.datasets.get(w.editor, dataset_id).cache_generation > generation
    assert rows(w, dataset_id) == [
        {"id": 1, "name": "ann", "score": 1.0, "seen": dt.datetime(2024, 1, 1)},
        {"id": 2, "name": "O'Brien'); DROP TABLE x; --", "score": 7.5, "seen": dt.datetime(2025, 5, 5, 10)},
        {"id": 3, "name": "O'Brien'); DROP TABLE x; --", "score": 7.5, "seen": dt.datetime(2025, 5, 5, 10)},
    ]
    first = w.datasets.update_where(
        w.editor, dataset_id, filters=[Condition("score", ">", 5)], values={"score": None}, first_only=True
    )
    assert first.updated == 1
    assert [r["score"] for r in rows(w, dataset_id)] == [1.0, None, 7.5]
    everything = w.datasets.update_where(w.editor, dataset_id, filters=[], values={"name": "all"})
    assert everything.updated == 3 and {r["name"] for r in rows(w, dataset_id)} == {"all"}


def test_update_where_errors_change_nothing(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id = people(w)
    before = rows(w, dataset_id)
    cases = [
        ({"filters": [Condition("nope", "==", 1)], "values": {"score": 1}}, "nope"),
        ({"filters": [Condition("id", "==", 1)], "values": {"nope": 1}}, "nope"),
        ({"filters": [Condition("id", "==", 1)], "values": {"score": 2.0, "id": "not a number"}}, "id"),
        ({"filters": [Condition("id", "==", 1)], "values": {"id": 2**40}}, "id"),
        ({"filters": [Condition("id", "==", 1)], "values": {"seen": "yesterday"}}, "seen"),
        ({"filters": [Condition("id", "==", 1)], "values": {}}, "values"),
    ]
    for kwargs, column in cases:
        with pytest.raises(InvalidInputError) as caught:
            w.datasets.update_where(w.editor, dataset_id, **kwargs)  # type: ignore[arg-type]
        assert column in str(caught.value), (kwargs, caught.value)
    with pytest.raises(PermissionDeniedError):
        w.datasets.update_where(w.viewer, dataset_id, filters=[], values={"score": 1})
    assert rows(w, dataset_id) == before


def test_update_existing_ignores_new_keys(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id = people(w)
    result = w.datasets.update_existing(
        w.editor,
        dataset_id,
        LoadSource.from_rows(
            [
                {"id": 3, "name": "first", "score": 0.0, "seen": None},
                {"id": 3, "name": "carl", "score": 30.0, "seen": None},  # the last duplicate wins
                {"id": 4, "name": "dan", "score": 4.0, "seen": None},
            ]
        ),
        ["id"],
    )
    assert (result.inserted, result.updated, result.row_count) == (0, 1, 3)
    assert [(r["id"], r["name"], r["score"]) for r in rows(w, dataset_id)] == [
        (1, "ann", 1.0),
        (2, "bob", 2.0),
        (3, "carl", 30.0),
    ]


# ----- paged reads --------------------------------------------------------------------------------
def test_pages_with_offset_read_every_row_once_in_insertion_order(warehouse: Warehouse) -> None:
    w = warehouse
    dataset = w.datasets.create(w.editor, name=unique(), columns=[{"name": "n", "type": "int64"}])
    total = 300_000  # several DuckDB row groups, read by several threads
    for start in range(0, total, 100_000):
        ids = pa.array(range(total - start - 100_000, total - start), pa.int64())  # descending blocks
        w.datasets.append(w.editor, dataset.id, LoadSource.from_arrow(pa.table({"n": ids})))
    expected = [
        n for start in range(0, total, 100_000) for n in range(total - start - 100_000, total - start)
    ]
    seen: list[int] = []
    page = 70_001
    for offset in range(0, total, page):
        table = w.datasets.read(w.editor, dataset.id, limit=page, offset=offset).read_all()
        seen.extend(table.column("n").to_pylist())
    assert seen == expected
    assert rows(w, dataset.id, limit=3, offset=total - 2) == [{"n": 99_998}, {"n": 99_999}]
    assert rows(w, dataset.id, offset=total) == []
    with pytest.raises(InvalidInputError):
        w.datasets.read(w.editor, dataset.id, offset=-1)


def test_pages_keep_the_team_row_filter(warehouse: Warehouse) -> None:
    w = warehouse
    dataset_id = people(w)
    saved = w.datasets.row_filters
    w.datasets.row_filters = lambda principal, dataset: [Condition("name", "==", "bob")]
    try:
        assert [r["id"] for r in rows(w, dataset_id, limit=1, offset=1)] == [3]
        assert [r["id"] for r in rows(w, dataset_id, offset=1)] == [3]
    finally:
        w.datasets.row_filters = saved
