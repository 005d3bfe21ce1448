"""The `WarehouseTables` contract, run on both warehouses: DuckDB (a sandboxed file) and PostgreSQL
(a fresh schema of the local database). Every test makes the same assertions on both."""

from __future__ import annotations

import datetime as dt
import gzip
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from openlytics.core.datasets.column_types import dataset_schema
from openlytics.core.errors import IncompatibleValueError, QueryFailedError
from openlytics.engines.adbc_postgres import libpq_uri
from openlytics.engines.base import BindValue, CsvOptions, Statement, WarehouseTables
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.engines.postgres_tables import ROW_COLUMN, PostgresWarehouseTables

from .conftest import POSTGRES_URL, fetch_table, run_admin_sql, unique_name

PARIS = dt.timezone(dt.timedelta(hours=2))


@dataclass
class Warehouse:
    """The tables under test, and a way to read a view as a user would (plain SQL)."""

    kind: str
    tables: WarehouseTables
    select_all: Callable[[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def pg_schema() -> Iterator[str]:
    schema = f"test_wt_{uuid.uuid4().hex[:12]}"
    run_admin_sql(POSTGRES_URL, f'CREATE SCHEMA "{schema}"')
    yield schema
    PostgresWarehouseTables(POSTGRES_URL, schema).close()
    run_admin_sql(POSTGRES_URL, f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        engine = DuckDBEngine(tmp_path / "warehouse.duckdb", memory_limit="1GB", threads=2, sandboxed=True)

        def duckdb_rows(view: str) -> list[dict[str, Any]]:
            return fetch_table(engine, f'SELECT * FROM "{view}"').to_pylist()

        yield Warehouse("duckdb", engine.warehouse_tables(), duckdb_rows)
        engine.close()
        return
    schema = request.getfixturevalue("pg_schema")
    sql = sa.create_engine(POSTGRES_URL)

    def postgres_rows(view: str) -> list[dict[str, Any]]:
        with sql.connect() as conn:
            return [dict(r) for r in conn.exec_driver_sql(f'SELECT * FROM "{schema}"."{view}"').mappings()]

    yield Warehouse("postgresql", PostgresWarehouseTables(POSTGRES_URL, schema), postgres_rows)
    sql.dispose()


SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("n", pa.int32()),
        ("x", pa.float64()),
        ("f", pa.float32()),
        ("ok", pa.bool_()),
        ("day", pa.date32()),
        ("at", pa.timestamp("us")),
        ("name", pa.string()),
    ]
)
ROWS = [
    {
        "id": 1,
        "n": -7,
        "x": 1.25,
        "f": 0.5,
        "ok": True,
        "day": dt.date(2024, 2, 29),
        "at": dt.datetime(2024, 2, 29, 12, 34, 56, 789012),
        "name": "Zürich ☃ 東京",
    },
    {"id": 2, "n": None, "x": None, "f": None, "ok": None, "day": None, "at": None, "name": None},
    {
        "id": 3,
        "n": 2**31 - 1,
        "x": -1e300,
        "f": -2.0,
        "ok": False,
        "day": dt.date(1970, 1, 1),
        "at": dt.datetime(1999, 12, 31, 23, 59, 59),
        "name": "",
    },
]


def reader(rows: list[dict[str, Any]], schema: pa.Schema = SCHEMA) -> pa.RecordBatchReader:
    return pa.Table.from_pylist(rows, schema=schema).to_reader()


def people(*pairs: tuple[Any, Any]) -> pa.RecordBatchReader:
    """Rows of (id, name)."""
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    return reader([{"id": i, "name": n} for i, n in pairs], schema)


def read_all(tables: WarehouseTables, table: str, **kwargs: Any) -> pa.Table:
    return tables.read_table(table, **kwargs).read_all()


def pairs(tables: WarehouseTables, table: str, **kwargs: Any) -> list[tuple[Any, Any]]:
    return [(r["id"], r["name"]) for r in read_all(tables, table, **kwargs).to_pylist()]


def where(*fragments: str | BindValue) -> Statement:
    return Statement(tuple(fragments))


# ----- create, load, read -------------------------------------------------------------------------
def test_create_table_is_empty_with_exactly_the_columns(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.create_table(table, SCHEMA)
    assert tables.table_schema(table) == SCHEMA
    assert tables.row_count(table) == 0
    empty = read_all(tables, table)
    assert empty.num_rows == 0 and empty.schema == SCHEMA


def test_load_table_round_trips_every_dataset_type_with_nulls_and_unicode(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    assert tables.load_table(table, reader(ROWS)) == 3
    assert tables.table_schema(table) == SCHEMA
    assert ROW_COLUMN not in tables.table_schema(table).names
    assert read_all(tables, table).to_pylist() == ROWS


def test_other_arrow_types_are_stored_as_the_nearest_column_type(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    data = pa.table(
        {
            "tiny": pa.array([1, None], pa.int8()),
            "small": pa.array([-300, 2], pa.int16()),
            "big_text": pa.array(["ä", None], pa.large_string()),
            "ns": pa.array([1_700_000_000_000_000_000, None], pa.timestamp("ns")),
            "secs": pa.array([1_700_000_000, None], pa.timestamp("s")),
            "zoned": pa.array(
                [dt.datetime(2024, 1, 1, 12, tzinfo=PARIS), None], pa.timestamp("us", "Europe/Paris")
            ),
            "blob": pa.array([b"\x00\xff", None], pa.binary()),
            "amount": pa.array([Decimal("12.345"), None], pa.decimal128(10, 3)),
        }
    )
    assert tables.load_table(table, data.to_reader()) == 2
    stored = tables.table_schema(table)
    assert dataset_schema(stored) == dataset_schema(data.schema)
    assert stored.field("zoned").type == pa.timestamp("us")  # naive, in UTC
    assert stored.field("amount").type == pa.decimal128(10, 3)
    assert stored.field("blob").type == pa.binary()
    got = read_all(tables, table)
    row = got.to_pylist()[0]
    assert (row["tiny"], row["small"], row["big_text"], row["blob"]) == (1, -300, "ä", b"\x00\xff")
    assert row["amount"] == Decimal("12.345")
    assert row["zoned"] == dt.datetime(2024, 1, 1, 10)
    as_us = {name: got.column(name).cast(pa.timestamp("us")).to_pylist() for name in ("ns", "secs")}
    assert as_us == {
        "ns": [dt.datetime(2023, 11, 14, 22, 13, 20), None],
        "secs": [dt.datetime(2023, 11, 14, 22, 13, 20), None],
    }


def test_read_table_filters_pages_and_keeps_insertion_order(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people(*[(i, f"p{i}") for i in (5, 3, 9, 1, 7, 2)]))
    assert [i for i, _ in pairs(tables, table)] == [5, 3, 9, 1, 7, 2]
    above = where('"id" > ', BindValue(2))
    assert [i for i, _ in pairs(tables, table, where=above)] == [5, 3, 9, 7]
    assert [i for i, _ in pairs(tables, table, where=above, limit=2, offset=1)] == [3, 9]
    assert [i for i, _ in pairs(tables, table, offset=4)] == [7, 2]
    assert pairs(tables, table, limit=0) == []
    named = where('"name" = ', BindValue("p9"), ' OR "name" IS NULL')
    assert pairs(tables, table, where=named) == [(9, "p9")]


def test_read_table_streams_batches_of_at_most_batch_size(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people(*[(i, str(i)) for i in range(2500)]))
    batches = list(tables.read_table(table, batch_size=1000))
    assert max(b.num_rows for b in batches) <= 1000
    assert sum(b.num_rows for b in batches) == 2500
    assert pa.Table.from_batches(batches).column("id").to_pylist() == list(range(2500))


def test_a_stream_dropped_early_leaves_the_tables_usable(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people(*[(i, str(i)) for i in range(50_000)]))
    for _ in range(6):
        stream = tables.read_table(table, batch_size=100)
        assert stream.read_next_batch().num_rows == 100
        del stream
    tables.read_table(table)  # never read at all
    assert tables.row_count(table) == 50_000


def test_copy_table_keeps_rows_types_and_order(warehouse: Warehouse) -> None:
    tables, source, copy = warehouse.tables, unique_name(), unique_name()
    tables.load_table(source, reader(ROWS[::-1]))
    assert tables.copy_table(source, copy) == 3
    assert tables.table_schema(copy) == SCHEMA
    assert read_all(tables, copy).to_pylist() == ROWS[::-1]
    tables.insert_rows(copy, reader(ROWS[:1]))
    assert tables.row_count(source) == 3


def test_unknown_tables_and_bad_sql_fail_as_query_errors(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people((1, "a")))
    with pytest.raises(QueryFailedError):
        tables.read_table("no_such_table").read_all()
    with pytest.raises(QueryFailedError):
        tables.row_count("no_such_table")
    with pytest.raises(QueryFailedError):
        tables.insert_rows("no_such_table", people((2, "b")))
    with pytest.raises(QueryFailedError):
        tables.read_table(table, where=Statement.plain("no_column = 1")).read_all()
    with pytest.raises(QueryFailedError):
        tables.delete_where(table, Statement.plain("((("))
    with pytest.raises(QueryFailedError):
        tables.copy_table("no_such_table", unique_name())
    assert pairs(tables, table) == [(1, "a")]


def test_a_failed_load_leaves_no_table(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    schema = pa.schema([("id", pa.int64())])

    def batches() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise ValueError("the source broke")

    with pytest.raises(QueryFailedError, match="the source broke"):
        tables.load_table(table, pa.RecordBatchReader.from_batches(schema, batches()))
    assert tables.table_names(table) == []


# ----- changes ----------------------------------------------------------------------------------
def test_insert_rows_matches_columns_by_name(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, reader(ROWS[:1]))
    shuffled = pa.schema([("name", pa.string()), ("id", pa.int64())])
    assert tables.insert_rows(table, reader([{"name": "late", "id": 10}], shuffled)) == 1
    rows = read_all(tables, table).to_pylist()
    assert rows[-1] == {**{name: None for name in SCHEMA.names}, "id": 10, "name": "late"}
    assert tables.row_count(table) == 2


def test_insert_rows_into_an_unknown_column_fails_and_changes_nothing(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people((1, "a")))
    extra = pa.schema([("id", pa.int64()), ("nope", pa.string())])
    with pytest.raises(QueryFailedError):
        tables.insert_rows(table, reader([{"id": 2, "nope": "x"}], extra))
    assert pairs(tables, table) == [(1, "a")]


def test_upsert_replaces_by_key_the_last_duplicate_wins_and_replaced_rows_move_last(
    warehouse: Warehouse,
) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people((1, "a"), (2, "b"), (3, "c"), (None, "nobody")))
    incoming = people((2, "x"), (4, "y"), (2, "z"), (4, "w"), (None, "someone"))
    assert tables.upsert_rows(table, incoming, ["id"]) == (1, 2)
    assert pairs(tables, table) == [(1, "a"), (3, "c"), (2, "z"), (4, "w"), (None, "someone")]


def test_upsert_by_a_two_column_key(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    schema = pa.schema([("region", pa.string()), ("day", pa.date32()), ("sales", pa.float64())])
    d1, d2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
    rows = [{"region": "eu", "day": d1, "sales": 1.0}, {"region": "eu", "day": d2, "sales": 2.0}]
    tables.load_table(table, reader(rows, schema))
    change = [{"region": "eu", "day": d2, "sales": 20.0}, {"region": "us", "day": d2, "sales": 3.0}]
    assert tables.upsert_rows(table, reader(change, schema), ["region", "day"]) == (1, 1)
    assert [r["sales"] for r in read_all(tables, table).to_pylist()] == [1.0, 20.0, 3.0]


def test_update_rows_overwrites_in_place_and_ignores_new_keys(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people((1, "a"), (2, "b"), (3, "c"), (None, "nobody")))
    incoming = people((2, "x"), (9, "new"), (2, "y"), (None, "someone"))
    assert tables.update_rows(table, incoming, ["id"]) == 2
    assert pairs(tables, table) == [(1, "a"), (2, "y"), (3, "c"), (None, "someone")]
    only_keys = reader([{"id": 1}, {"id": 3}, {"id": 42}], pa.schema([("id", pa.int64())]))
    assert tables.update_rows(table, only_keys, ["id"]) == 2
    assert tables.row_count(table) == 4


def test_delete_keys_removes_every_match_or_only_the_first(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(
        table, people((1, "a"), (2, "b"), (1, "c"), (3, "d"), (1, "e"), (None, "f"), (None, "g"))
    )
    keys = pa.table({"id": pa.array([1, 1, None], pa.int64())})
    assert tables.delete_keys(table, ["id"], keys, first_only=True) == 2
    assert pairs(tables, table) == [(2, "b"), (1, "c"), (3, "d"), (1, "e"), (None, "g")]
    assert tables.delete_keys(table, ["id"], pa.table({"id": pa.array([1, 3], pa.int64())})) == 3
    assert pairs(tables, table) == [(2, "b"), (None, "g")]
    assert tables.delete_keys(table, ["id"], pa.table({"id": pa.array([], pa.int64())})) == 0


def test_delete_where_with_binds_and_first_only(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, people(*[(i, "even" if i % 2 == 0 else "odd") for i in range(8)]))
    odd = where('"name" = ', BindValue("odd"), ' AND "id" > ', BindValue(1))
    assert tables.delete_where(table, odd, first_only=True) == 1
    assert [i for i, _ in pairs(tables, table)] == [0, 1, 2, 4, 5, 6, 7]
    assert tables.delete_where(table, odd) == 2
    assert tables.delete_where(table, Statement.plain("1 = 0")) == 0
    hostile = where('"name" = ', BindValue("x'; DROP TABLE t; --"))
    assert tables.delete_where(table, hostile) == 0
    assert [i for i, _ in pairs(tables, table)] == [0, 1, 2, 4, 6]


def test_update_where_sets_bound_values_and_rows_stay_in_place(warehouse: Warehouse) -> None:
    tables, table = warehouse.tables, unique_name()
    tables.load_table(table, reader(ROWS))
    values = {
        "n": 42,
        "x": 2.5,
        "f": 1.5,
        "ok": True,
        "day": dt.date(2030, 1, 2),
        "at": dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=PARIS),
        "name": "mis à jour",
    }
    types = {name: SCHEMA.field(name).type for name in values}
    assert tables.update_where(table, where('"id" >= ', BindValue(2)), values, types) == 2
    rows = read_all(tables, table).to_pylist()
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0] == ROWS[0]
    expected = {**values, "at": dt.datetime(2030, 1, 2, 1, 4, 5)}
    assert rows[1] == {"id": 2, **expected} and rows[2] == {"id": 3, **expected}
    cleared = tables.update_where(
        table, Statement.plain("TRUE"), {"name": None}, {"name": pa.string()}, first_only=True
    )
    assert cleared == 1
    assert [r["name"] for r in read_all(tables, table).to_pylist()] == [None, "mis à jour", "mis à jour"]


def test_add_columns_fills_nulls_and_repoints_the_view(warehouse: Warehouse) -> None:
    tables, table, view = warehouse.tables, unique_name(), unique_name("v")
    tables.load_table(table, people((1, "a")))
    tables.point_view(view, table)
    added = pa.schema([("score", pa.float64()), ("seen", pa.timestamp("us"))])
    tables.add_columns(table, added, view=view)
    assert tables.table_schema(table).names == ["id", "name", "score", "seen"]
    assert warehouse.select_all(view) == [{"id": 1, "name": "a", "score": None, "seen": None}]
    tables.insert_rows(
        table, reader([{"id": 2, "score": 2.5}], pa.schema([("id", pa.int64()), ("score", pa.float64())]))
    )
    assert [r["score"] for r in warehouse.select_all(view)] == [None, 2.5]


def test_point_view_follows_tables_whose_columns_change(warehouse: Warehouse) -> None:
    tables, view = warehouse.tables, unique_name("v")
    first, second, third = unique_name(), unique_name(), unique_name()
    tables.load_table(first, people((1, "a")))
    tables.point_view(view, first)
    assert warehouse.select_all(view) == [{"id": 1, "name": "a"}]
    tables.load_table(
        second, reader([{"name": "b", "x": 1.5}], pa.schema([("name", pa.string()), ("x", pa.float64())]))
    )
    tables.point_view(view, second)
    assert warehouse.select_all(view) == [{"name": "b", "x": 1.5}]
    assert tables.table_schema(view) == pa.schema([("name", pa.string()), ("x", pa.float64())])
    grown = pa.schema([("name", pa.string()), ("x", pa.float64()), ("y", pa.int32())])
    tables.load_table(third, reader([{"name": "c", "x": 2.5, "y": 3}], grown))
    tables.point_view(view, third)
    assert warehouse.select_all(view) == [{"name": "c", "x": 2.5, "y": 3}]
    tables.drop_tables([first, second])
    assert warehouse.select_all(view) == [{"name": "c", "x": 2.5, "y": 3}]


def test_drop_view_and_drop_tables_ignore_missing_names(warehouse: Warehouse) -> None:
    tables, table, view = warehouse.tables, unique_name(), unique_name("v")
    tables.load_table(table, people((1, "a")))
    tables.point_view(view, table)
    tables.drop_view(view)
    tables.drop_view(view)
    with pytest.raises(QueryFailedError):
        warehouse.tables.table_schema(view)
    tables.drop_tables([table, unique_name()])
    tables.drop_tables([])
    assert tables.table_names(table) == []


def test_table_names_match_a_prefix_literally_and_skip_views(warehouse: Warehouse) -> None:
    tables = warehouse.tables
    base = unique_name("p")
    for name in (f"{base}_v2_b", f"{base}_v1_a", f"{base}_vx", f"{base}xv9", f"{base}%v9"):
        tables.create_table(name, pa.schema([("id", pa.int64())]))
    tables.point_view(f"{base}_v9_view", f"{base}_v1_a")
    assert tables.table_names(f"{base}_v") == [f"{base}_v1_a", f"{base}_v2_b", f"{base}_vx"]
    assert tables.table_names(f"{base}%") == [f"{base}%v9"]
    assert tables.table_names(f"{base}_v_") == []
    assert tables.table_names(unique_name("none")) == []


# ----- files --------------------------------------------------------------------------------------
def write_csv(path: Path, lines: list[str], *, compress: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    return path


def test_load_csv_with_a_separator_gzip_and_forced_types(warehouse: Warehouse, tmp_path: Path) -> None:
    tables, table = warehouse.tables, unique_name()
    path = write_csv(
        tmp_path / "cities.csv.gz",
        [
            "id;city;sales;code;at",
            "1;Zürich;1.5;007;2024-01-01T10:00:00+02:00",
            "2;Genève;;8;2024-01-02 11:30:00Z",
        ],
        compress=True,
    )
    options = CsvOptions(";", "auto", {"code": pa.string(), "sales": pa.float32()})
    assert tables.load_csv(table, path, options) == 2
    schema = tables.table_schema(table)
    assert dataset_schema(schema) == pa.schema(
        [
            ("id", pa.int64()),
            ("city", pa.string()),
            ("sales", pa.float32()),
            ("code", pa.string()),
            ("at", pa.timestamp("us")),
        ]
    )
    assert read_all(tables, table).to_pylist() == [
        {"id": 1, "city": "Zürich", "sales": 1.5, "code": "007", "at": dt.datetime(2024, 1, 1, 8)},
        {"id": 2, "city": "Genève", "sales": None, "code": "8", "at": dt.datetime(2024, 1, 2, 11, 30)},
    ]


def test_load_csv_bad_value_names_row_and_column_and_creates_no_table(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    tables, table = warehouse.tables, unique_name()
    path = write_csv(tmp_path / "bad.csv", ["id,amount", "1,10", "2,20", "3,lots", "4,40"])
    with pytest.raises(IncompatibleValueError) as caught:
        tables.load_csv(table, path, CsvOptions(types={"amount": pa.int32()}))
    assert (caught.value.row, caught.value.column, caught.value.value) == (2, "amount", "lots")
    assert tables.table_names(table) == []


def test_load_csv_reads_an_inferred_column_as_text_when_a_late_row_does_not_fit(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    tables, table = warehouse.tables, unique_name()
    lines = ["id,code"] + [f"{i},{i}" for i in range(30_000)] + ["30000,B12"]
    path = write_csv(tmp_path / "late.csv", lines)
    assert tables.load_csv(table, path, CsvOptions()) == 30_001
    assert tables.table_schema(table).field("code").type == pa.string()
    assert read_all(tables, table, offset=30_000).to_pylist() == [{"id": 30_000, "code": "B12"}]


def test_load_parquet_casts_forced_columns_and_names_a_bad_value(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    tables, table = warehouse.tables, unique_name()
    path = tmp_path / "data.parquet"
    codes = [str(i) for i in range(99)]
    pq.write_table(pa.table({"id": pa.array(range(99), pa.int16()), "code": codes}), path)
    assert tables.load_parquet(table, path, {"code": pa.int64(), "id": pa.int32()}) == 99
    assert tables.table_schema(table) == pa.schema([("id", pa.int32()), ("code", pa.int64())])
    assert read_all(tables, table, limit=2).to_pylist() == [{"id": 0, "code": 0}, {"id": 1, "code": 1}]
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": list(range(100)), "code": [*codes, "x"]}), bad)
    other = unique_name()
    with pytest.raises(IncompatibleValueError) as caught:
        tables.load_parquet(other, bad, {"code": pa.int64()})
    assert (caught.value.row, caught.value.column, caught.value.value) == (99, "code", "x")
    assert tables.table_names(other) == []


def test_load_parquet_refuses_an_unknown_forced_column(warehouse: Warehouse, tmp_path: Path) -> None:
    tables, table = warehouse.tables, unique_name()
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"id": [1]}), path)
    with pytest.raises(QueryFailedError, match="nope"):
        tables.load_parquet(table, path, {"nope": pa.int64()})
    assert tables.table_names(table) == []


# ----- threads and speed ------------------------------------------------------------------------
def test_concurrent_writers_on_different_tables(warehouse: Warehouse) -> None:
    tables = warehouse.tables
    names = [unique_name() for _ in range(6)]
    errors: list[BaseException] = []

    def work(table: str) -> None:
        try:
            tables.load_table(table, people((0, "start")))
            for i in range(1, 6):
                tables.insert_rows(table, people((i, table)))
            tables.upsert_rows(table, people((0, "again")), ["id"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [tables.row_count(name) for name in names] == [6] * 6


def test_speed_sanity_print(warehouse: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    tables, table = warehouse.tables, unique_name()
    n = 1_000_000
    data = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "x": pa.array(range(n), pa.float64()),
            "name": pa.array([f"name {i % 1000}" for i in range(n)]),
            "at": pa.array(range(n), pa.timestamp("s")).cast(pa.timestamp("us")),
        }
    )
    start = time.perf_counter()
    tables.load_table(table, data.to_reader(max_chunksize=65_536))
    loaded = time.perf_counter()
    rows = sum(b.num_rows for b in tables.read_table(table))
    read = time.perf_counter()
    change = pa.table({"id": pa.array(range(0, n, 100), pa.int64()), "x": pa.array([0.0] * (n // 100))})
    updated = tables.update_rows(table, change.to_reader(), ["id"])
    done = time.perf_counter()
    assert rows == n and updated == n // 100
    with capsys.disabled():
        print(
            f"\n{warehouse.kind}: load 1M rows {loaded - start:.2f}s, read {read - loaded:.2f}s, "
            f"update 10k by key {done - read:.2f}s"
        )


# ----- PostgreSQL only --------------------------------------------------------------------------
def test_postgres_tables_have_the_hidden_row_column_first(pg_schema: str) -> None:
    tables, table = PostgresWarehouseTables(POSTGRES_URL, pg_schema), unique_name()
    tables.load_table(table, people((1, "a")))
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            columns = conn.exec_driver_sql(
                "SELECT column_name, is_identity, identity_generation FROM information_schema.columns "
                f"WHERE table_schema = '{pg_schema}' AND table_name = '{table}' ORDER BY ordinal_position"
            ).all()
    finally:
        engine.dispose()
    assert [tuple(c) for c in columns] == [
        (ROW_COLUMN, "YES", "ALWAYS"),
        ("id", "NO", None),
        ("name", "NO", None),
    ]


def test_postgres_refuses_a_nul_character_naming_row_and_column(pg_schema: str) -> None:
    tables, table = PostgresWarehouseTables(POSTGRES_URL, pg_schema), unique_name()
    with pytest.raises(IncompatibleValueError) as caught:
        tables.load_table(table, people((1, "fine"), (2, "nul\x00here")))
    assert (caught.value.row, caught.value.column) == (1, "name")
    assert tables.table_names(table) == []


def test_postgres_value_that_does_not_fit_names_row_and_column(pg_schema: str) -> None:
    tables, table = PostgresWarehouseTables(POSTGRES_URL, pg_schema), unique_name()
    tables.create_table(table, pa.schema([("n", pa.int32())]))
    with pytest.raises(IncompatibleValueError) as caught:
        tables.insert_rows(table, reader([{"n": 1}, {"n": 2**40}], pa.schema([("n", pa.int64())])))
    assert (caught.value.row, caught.value.column, caught.value.value) == (1, "n", 2**40)
    assert tables.row_count(table) == 0


def test_postgres_urls_lose_their_driver_and_gain_a_connect_timeout() -> None:
    assert libpq_uri("postgresql+psycopg://ol_x:p%40ss@db.example:6543/warehouse") == (
        "postgresql://ol_x:p%40ss@db.example:6543/warehouse?application_name=openlytics&connect_timeout=5"
    )
    assert libpq_uri("postgres://u@h/w?connect_timeout=1&sslmode=require") == (
        "postgresql://u@h/w?application_name=openlytics&connect_timeout=1&sslmode=require"
    )
