"""DuckDBEngine: the sandboxed warehouse and plain DuckDB files."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from openlytics.core.errors import QueryCancelledError, QueryFailedError, SourceUnavailableError
from openlytics.engines.base import BindValue, Statement
from openlytics.engines.duckdb_engine import DuckDBEngine, duckdb_logical_type

from .conftest import drain, fetch_table


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine(tmp_path / "warehouse.duckdb", memory_limit="512MB", threads=2, sandboxed=True)
    yield engine
    engine.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '{tmp}/out.csv'",
        "EXPORT DATABASE '{tmp}/export'",
        "ATTACH '{tmp}/other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET memory_limit = '100GB'",
        "RESET enable_external_access",
    ],
)
def test_sandbox_refuses_files_extensions_and_settings(
    warehouse: DuckDBEngine, tmp_path: Path, sql: str
) -> None:
    with pytest.raises(QueryFailedError):
        fetch_table(warehouse, sql.format(tmp=tmp_path))
    assert not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


def test_sandbox_still_allows_tables_in_the_warehouse(warehouse: DuckDBEngine) -> None:
    fetch_table(warehouse, "CREATE TABLE sales AS SELECT range AS id, range * 1.5 AS amount FROM range(10)")
    assert fetch_table(warehouse, "SELECT count(*) AS n FROM sales").to_pylist() == [{"n": 10}]


def test_types_round_trip(warehouse: DuckDBEngine) -> None:
    table = fetch_table(
        warehouse,
        """SELECT 1::TINYINT AS i1, 2::BIGINT AS i8, 1.5::DOUBLE AS f, 12.345::DECIMAL(10, 3) AS n, true AS b,
                  'x' AS s, DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 12:34:56' AS ts,
                  TIMESTAMPTZ '2024-02-29 12:00:00+00' AS tz, TIME '23:59:59' AS tm, '\\x01'::BLOB AS bl,
                  [1, 2] AS l, {'a': 1} AS st, NULL AS nothing""",
    )
    assert table.schema.field("i1").type == pa.int8()
    assert table.schema.field("n").type == pa.decimal128(10, 3)
    assert table.schema.field("tz").type == pa.timestamp("us", tz="Etc/UTC")
    assert table.schema.field("nothing").type == pa.null()
    row = table.to_pylist()[0]
    assert row["n"] == Decimal("12.345")
    assert row["d"] == dt.date(2024, 2, 29)
    assert row["l"] == [1, 2]
    assert row["st"] == {"a": 1}


def test_binds_are_data(warehouse: DuckDBEngine) -> None:
    hostile = "'; DROP TABLE x; --"
    statement = Statement(("SELECT ", BindValue(3), " + 1 AS n, ", BindValue(hostile), " AS s, '100%' AS p"))
    assert fetch_table(warehouse, statement).to_pylist() == [{"n": 4, "s": hostile, "p": "100%"}]


def test_duplicate_column_names_are_made_unique(warehouse: DuckDBEngine) -> None:
    assert fetch_table(warehouse, "SELECT 1 AS a, 2 AS a").schema.names == ["a", "a_1"]


def test_streams_in_batches(warehouse: DuckDBEngine) -> None:
    with warehouse.execute(
        Statement.plain("SELECT range AS i FROM range(1000000)"), batch_size=100_000
    ) as ex:
        batches = drain(ex)
    assert sum(b.num_rows for b in batches) == 1_000_000
    assert len(batches) >= 10
    assert {b.schema for b in batches} == {ex.schema}


def test_syntax_error_raises_from_execute(warehouse: DuckDBEngine) -> None:
    with pytest.raises(QueryFailedError, match='syntax error at or near "SELEC"'):
        warehouse.execute(Statement.plain("SELEC 1"))


def test_runtime_error_carries_duckdb_message(warehouse: DuckDBEngine) -> None:
    with pytest.raises(QueryFailedError, match="Could not convert string 'a' to INT32"):
        fetch_table(warehouse, "SELECT 'a'::INT")


def test_cancel_interrupts_a_heavy_join_from_another_thread(warehouse: DuckDBEngine) -> None:
    execution = warehouse.execute(Statement.plain("SELECT count(*) FROM range(100000000) a, range(100000) b"))
    threading.Timer(0.5, execution.cancel).start()
    started = time.monotonic()
    with pytest.raises(QueryCancelledError), execution:
        drain(execution)
    assert time.monotonic() - started < 5
    assert fetch_table(warehouse, "SELECT 1 AS one").to_pylist() == [{"one": 1}]


def test_cancel_while_streaming(warehouse: DuckDBEngine) -> None:
    with warehouse.execute(Statement.plain("SELECT * FROM range(100000000)"), batch_size=1000) as execution:
        batches = execution.batches()
        next(batches)
        execution.cancel()
        with pytest.raises(QueryCancelledError):
            list(batches)


def test_concurrent_executions_use_their_own_cursors(warehouse: DuckDBEngine) -> None:
    results: list[int] = []

    def count(n: int) -> None:
        table = fetch_table(warehouse, Statement(("SELECT count(*) AS c FROM range(", BindValue(n), ")")))
        results.append(table.column("c")[0].as_py())

    threads = [threading.Thread(target=count, args=(n * 1000,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [n * 1000 for n in range(1, 9)]


def test_arrow_tables_can_be_loaded_by_trusted_code(warehouse: DuckDBEngine) -> None:
    incoming = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})
    with warehouse.execute(
        Statement.plain("CREATE TABLE people AS SELECT * FROM incoming"), tables={"incoming": incoming}
    ) as execution:
        drain(execution)
    assert fetch_table(warehouse, "SELECT count(*) AS n FROM people").to_pylist() == [{"n": 3}]
    with pytest.raises(QueryFailedError, match="incoming"):
        fetch_table(warehouse, "SELECT * FROM incoming")


def test_list_tables_maps_duckdb_types(warehouse: DuckDBEngine) -> None:
    fetch_table(
        warehouse,
        "CREATE TABLE t (id BIGINT, amount DECIMAL(10,2), name VARCHAR, created TIMESTAMP, day DATE,"
        " ok BOOLEAN, tags VARCHAR[], data BLOB, x DOUBLE)",
    )
    fetch_table(warehouse, "CREATE VIEW v AS SELECT id FROM t")
    tables = {t.name: t for t in warehouse.list_tables()}
    assert [(c.name, c.type) for c in tables["t"].columns] == [
        ("id", "integer"),
        ("amount", "decimal"),
        ("name", "string"),
        ("created", "datetime"),
        ("day", "date"),
        ("ok", "boolean"),
        ("tags", "list"),
        ("data", "binary"),
        ("x", "float"),
    ]
    assert tables["v"].kind == "view"
    assert tables["t"].schema == "main"


@pytest.mark.parametrize(
    ("duckdb_type", "logical"),
    [
        ("HUGEINT", "integer"),
        ("UBIGINT", "integer"),
        ("FLOAT", "float"),
        ("TIMESTAMP WITH TIME ZONE", "datetime"),
        ("TIMESTAMP_NS", "datetime"),
        ("TIME", "time"),
        ("INTERVAL", "interval"),
        ("UUID", "string"),
        ("JSON", "string"),
        ("ENUM('a', 'b')", "string"),
        ("STRUCT(a INTEGER)", "struct"),
        ("MAP(VARCHAR, INTEGER)", "struct"),
        ("INTEGER[3]", "list"),
        ("BIT", "binary"),
    ],
)
def test_duckdb_type_names_map_to_logical_types(duckdb_type: str, logical: str) -> None:
    assert duckdb_logical_type(duckdb_type) == logical


def test_read_only_file_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    DuckDBEngine(path).close()
    engine = DuckDBEngine(path, read_only=True)
    try:
        with pytest.raises(QueryFailedError, match="read-only"):
            fetch_table(engine, "CREATE TABLE t (x INT)")
    finally:
        engine.close()


def test_missing_read_only_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError):
        DuckDBEngine(tmp_path / "missing.duckdb", read_only=True)


def test_closed_engine_is_unavailable(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "x.duckdb")
    engine.close()
    with pytest.raises(SourceUnavailableError):
        engine.execute(Statement.plain("SELECT 1"))
