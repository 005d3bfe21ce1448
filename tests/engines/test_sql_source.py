"""SQLAlchemySourceEngine against the real PostgreSQL, MariaDB, SQLite and DuckDB files."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from openlytics.core.errors import QueryCancelledError, QueryFailedError, SourceUnavailableError
from openlytics.engines.base import BindValue, Statement
from openlytics.engines.sql import SQLAlchemySourceEngine

from .conftest import MARIADB_URL, POSTGRES_URL, drain, fetch_table, mysql_processlist_has, run_admin_sql

HOSTILE = "'; DROP TABLE x; --"


def bound(*fragments: str | BindValue) -> Statement:
    """A statement from text fragments and bound values."""
    return Statement(tuple(fragments))


def cancel_after(execution_cancel: object, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, execution_cancel)  # type: ignore[arg-type]
    timer.start()
    return timer


def assert_cancels_quickly(engine: SQLAlchemySourceEngine, sql: str) -> None:
    execution = engine.execute(Statement.plain(sql))
    cancel_after(execution.cancel, 0.5)
    started = time.monotonic()
    with pytest.raises(QueryCancelledError), execution:
        drain(execution)
    assert time.monotonic() - started < 5
    # The pool hands out a clean connection afterwards.
    assert fetch_table(engine, "SELECT 42 AS answer").to_pylist() == [{"answer": 42}]


# --- PostgreSQL ----------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_types_round_trip(pg_engine: SQLAlchemySourceEngine, pg_table: str) -> None:
    run_admin_sql(
        POSTGRES_URL,
        f"""CREATE TABLE "{pg_table}" (
            i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric(12, 3), nu numeric, b bool,
            s text, v varchar(10), d date, ts timestamp, tz timestamptz, tm time, j jsonb, by bytea,
            u uuid, iv interval, arr int[])""",
        f"""INSERT INTO "{pg_table}" VALUES (1, 2, 3, 1.5, 2.25, 1234.567, 1.25, true, 'text', 'vc',
            '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:00:00+02', '23:59:59',
            '{{"a": [1, 2]}}', '\\x0102', '12345678-1234-5678-1234-567812345678',
            '1 day 2 hours', '{{1,2}}')""",
        f'INSERT INTO "{pg_table}" DEFAULT VALUES',
    )
    table = fetch_table(pg_engine, f'SELECT * FROM "{pg_table}" ORDER BY i2 NULLS LAST')
    types = {field.name: field.type for field in table.schema}
    assert types == {
        "i2": pa.int16(),
        "i4": pa.int32(),
        "i8": pa.int64(),
        "f4": pa.float32(),
        "f8": pa.float64(),
        "n": pa.decimal128(12, 3),
        "nu": pa.float64(),
        "b": pa.bool_(),
        "s": pa.string(),
        "v": pa.string(),
        "d": pa.date32(),
        "ts": pa.timestamp("us"),
        "tz": pa.timestamp("us", tz="UTC"),
        "tm": pa.time64("us"),
        "j": pa.string(),
        "by": pa.binary(),
        "u": pa.string(),
        "iv": pa.duration("us"),
        "arr": pa.list_(pa.int64()),
    }
    first, empty = table.to_pylist()
    assert first["n"] == Decimal("1234.567")
    assert first["ts"] == dt.datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert first["tz"] == dt.datetime(2024, 2, 29, 10, 0, tzinfo=dt.UTC)
    assert first["j"] == '{"a": [1, 2]}'
    assert first["by"] == b"\x01\x02"
    assert first["u"] == "12345678-1234-5678-1234-567812345678"
    assert first["iv"] == dt.timedelta(days=1, hours=2)
    assert first["arr"] == [1, 2]
    assert set(empty.values()) == {None}


@pytest.mark.postgres
def test_postgres_binds_keep_percent_literals_and_hostile_strings_as_data(
    pg_engine: SQLAlchemySourceEngine,
) -> None:
    statement = bound(
        "SELECT ", BindValue(7), " AS n, '100%' AS pct, ", BindValue(HOSTILE), " AS s, 'a%s' AS fmt"
    )
    assert fetch_table(pg_engine, statement).to_pylist() == [
        {"n": 7, "pct": "100%", "s": HOSTILE, "fmt": "a%s"}
    ]
    assert fetch_table(pg_engine, "SELECT '100%' AS pct").to_pylist() == [{"pct": "100%"}]


@pytest.mark.postgres
def test_postgres_streams_in_batches_with_one_schema(pg_engine: SQLAlchemySourceEngine) -> None:
    sql = "SELECT g AS id, CASE WHEN g > 50000 THEN 'late' END AS label FROM generate_series(1, 120000) g"
    with pg_engine.execute(Statement.plain(sql), batch_size=10_000) as execution:
        batches = drain(execution)
    assert len(batches) == 12
    assert {batch.schema for batch in batches} == {execution.schema}
    assert sum(batch.num_rows for batch in batches) == 120_000


@pytest.mark.postgres
def test_postgres_empty_result_keeps_its_columns(pg_engine: SQLAlchemySourceEngine) -> None:
    table = fetch_table(pg_engine, "SELECT 1::int8 AS id, 'x'::text AS name WHERE false")
    assert table.num_rows == 0
    assert table.schema == pa.schema([("id", pa.int64()), ("name", pa.string())])


@pytest.mark.postgres
def test_postgres_cancel_interrupts_sleep(pg_engine: SQLAlchemySourceEngine) -> None:
    assert_cancels_quickly(pg_engine, "SELECT pg_sleep(30)")


@pytest.mark.postgres
def test_postgres_syntax_error_carries_primary_message(pg_engine: SQLAlchemySourceEngine) -> None:
    with (
        pytest.raises(QueryFailedError) as caught,
        pg_engine.execute(Statement.plain("SELEC 1")) as execution,
    ):
        drain(execution)
    assert caught.value.engine_message == 'syntax error at or near "SELEC"'


@pytest.mark.postgres
def test_postgres_failed_statement_leaves_pool_usable(pg_engine: SQLAlchemySourceEngine) -> None:
    for _ in range(8):  # more than the pool size: a leaked or aborted connection would show
        with pytest.raises(QueryFailedError), pg_engine.execute(Statement.plain("SELECT 1/0")) as execution:
            drain(execution)
    assert fetch_table(pg_engine, "SELECT 1 AS one").to_pylist() == [{"one": 1}]


@pytest.mark.postgres
def test_postgres_statements_that_change_data_are_committed(
    pg_engine: SQLAlchemySourceEngine, pg_table: str
) -> None:
    fetch_table(pg_engine, f'CREATE TABLE "{pg_table}" (x int)')
    fetch_table(pg_engine, bound(f'INSERT INTO "{pg_table}" VALUES (', BindValue(5), ")"))
    assert fetch_table(pg_engine, f'SELECT x FROM "{pg_table}"').to_pylist() == [{"x": 5}]


@pytest.mark.postgres
def test_postgres_list_tables_shows_tables_and_views(
    pg_engine: SQLAlchemySourceEngine, pg_table: str
) -> None:
    run_admin_sql(
        POSTGRES_URL,
        f'CREATE TABLE "{pg_table}" (id bigint, amount numeric(10,2), name text, at timestamptz, ok bool)',
        f'CREATE VIEW "{pg_table}_v" AS SELECT id FROM "{pg_table}"',
    )
    tables = {(t.schema, t.name): t for t in pg_engine.list_tables()}
    table = tables[("public", pg_table)]
    assert table.kind == "table"
    assert [(c.name, c.type) for c in table.columns] == [
        ("id", "integer"),
        ("amount", "decimal"),
        ("name", "string"),
        ("at", "datetime"),
        ("ok", "boolean"),
    ]
    assert tables[("public", f"{pg_table}_v")].kind == "view"


def test_postgres_dead_port_fails_fast() -> None:
    engine = SQLAlchemySourceEngine("postgresql://postgres@127.0.0.1:1/test")
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError) as caught:
        engine.test_connection()
    assert time.monotonic() - started < 6
    assert "refused" in caught.value.reason.lower()
    engine.close()


# --- MariaDB -------------------------------------------------------------------------------------------


@pytest.mark.mariadb
def test_mariadb_types_round_trip(mysql_engine: SQLAlchemySourceEngine, mysql_table: str) -> None:
    run_admin_sql(
        MARIADB_URL,
        f"""CREATE TABLE `{mysql_table}` (
            ti TINYINT, i INT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, n DECIMAL(12, 3), s VARCHAR(20),
            tx TEXT, bl BLOB, dt DATE, ts DATETIME(6), tm TIME, j JSON, y YEAR, e ENUM('a', 'b'))""",
        f"""INSERT INTO `{mysql_table}` VALUES (-5, 7, 18446744073709551615, 1.5, 2.25, 1234.567, 'vc',
            'text', x'0102', '2024-02-29', '2024-02-29 12:34:56.789', '23:59:59', '{{"a": 1}}', 2024, 'b')""",
        f"INSERT INTO `{mysql_table}` () VALUES ()",
    )
    table = fetch_table(mysql_engine, f"SELECT * FROM `{mysql_table}` ORDER BY i IS NULL")
    types = {field.name: field.type for field in table.schema}
    assert types == {
        "ti": pa.int64(),
        "i": pa.int64(),
        "bu": pa.uint64(),
        "f": pa.float32(),
        "d": pa.float64(),
        "n": pa.decimal128(12, 3),
        "s": pa.string(),
        "tx": pa.string(),
        "bl": pa.binary(),
        "dt": pa.date32(),
        "ts": pa.timestamp("us"),
        "tm": pa.time64("us"),
        "j": pa.string(),
        "y": pa.int64(),
        "e": pa.string(),
    }
    first, empty = table.to_pylist()
    assert first["bu"] == 18446744073709551615
    assert first["n"] == Decimal("1234.567")
    assert first["bl"] == b"\x01\x02"
    assert first["ts"] == dt.datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert first["tm"] == dt.time(23, 59, 59)
    assert first["j"] == '{"a": 1}'
    assert set(empty.values()) == {None}


@pytest.mark.mariadb
def test_mariadb_time_beyond_a_day_falls_back_to_text(mysql_engine: SQLAlchemySourceEngine) -> None:
    table = fetch_table(mysql_engine, "SELECT CAST('30:00:00' AS TIME) AS t")
    assert table.schema.field("t").type == pa.string()
    assert table.column("t").to_pylist() == ["1 day, 6:00:00"]


@pytest.mark.mariadb
def test_mariadb_binds_keep_percent_literals_and_hostile_strings_as_data(
    mysql_engine: SQLAlchemySourceEngine,
) -> None:
    statement = bound("SELECT ", BindValue(7), " AS n, '100%' AS pct, ", BindValue(HOSTILE), " AS s")
    assert fetch_table(mysql_engine, statement).to_pylist() == [{"n": 7, "pct": "100%", "s": HOSTILE}]
    assert fetch_table(mysql_engine, "SELECT '100%' AS pct").to_pylist() == [{"pct": "100%"}]


@pytest.mark.mariadb
def test_mariadb_streams_in_batches(mysql_engine: SQLAlchemySourceEngine) -> None:
    with mysql_engine.execute(
        Statement.plain("SELECT seq FROM seq_1_to_120000"), batch_size=10_000
    ) as execution:
        batches = drain(execution)
    assert len(batches) == 12
    assert sum(batch.num_rows for batch in batches) == 120_000


@pytest.mark.mariadb
def test_mariadb_cancel_kills_the_query(mysql_engine: SQLAlchemySourceEngine) -> None:
    marker = uuid.uuid4().hex
    assert_cancels_quickly(mysql_engine, f"SELECT SLEEP(30) AS `{marker}`")
    assert not mysql_processlist_has(marker)


@pytest.mark.mariadb
def test_mariadb_query_longer_than_the_connect_timeout_is_not_cut_off(
    mysql_engine: SQLAlchemySourceEngine,
) -> None:
    # The handshake is bounded by the connect timeout (5 s); statements must not inherit it.
    assert fetch_table(mysql_engine, "SELECT SLEEP(6) AS slept").to_pylist() == [{"slept": 0}]


@pytest.mark.mariadb
def test_mariadb_abandoned_stream_does_not_block_the_pool(mysql_engine: SQLAlchemySourceEngine) -> None:
    for _ in range(8):
        with mysql_engine.execute(Statement.plain("SELECT seq FROM seq_1_to_1000000"), batch_size=1000) as ex:
            next(ex.batches())
    assert fetch_table(mysql_engine, "SELECT 1 AS one").to_pylist() == [{"one": 1}]


@pytest.mark.mariadb
def test_mariadb_syntax_error_carries_server_message(mysql_engine: SQLAlchemySourceEngine) -> None:
    with (
        pytest.raises(QueryFailedError) as caught,
        mysql_engine.execute(Statement.plain("SELEC 1")) as execution,
    ):
        drain(execution)
    assert caught.value.engine_message.startswith("You have an error in your SQL syntax")
    assert "near 'SELEC 1'" in caught.value.engine_message


@pytest.mark.mariadb
def test_mariadb_list_tables_shows_tables_and_views(
    mysql_engine: SQLAlchemySourceEngine, mysql_table: str
) -> None:
    run_admin_sql(
        MARIADB_URL,
        f"CREATE TABLE `{mysql_table}` (id BIGINT, amount DECIMAL(10,2), name VARCHAR(10), at DATETIME)",
        f"CREATE VIEW `{mysql_table}_v` AS SELECT id FROM `{mysql_table}`",
    )
    tables = {t.name: t for t in mysql_engine.list_tables()}
    assert [(c.name, c.type) for c in tables[mysql_table].columns] == [
        ("id", "integer"),
        ("amount", "decimal"),
        ("name", "string"),
        ("at", "datetime"),
    ]
    assert tables[f"{mysql_table}_v"].kind == "view"


def test_mariadb_dead_port_fails_fast() -> None:
    engine = SQLAlchemySourceEngine("mysql://root@127.0.0.1:1/test")
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError):
        engine.test_connection()
    assert time.monotonic() - started < 6
    engine.close()


# --- SQLite --------------------------------------------------------------------------------------------


def test_sqlite_types_round_trip(sqlite_engine: SQLAlchemySourceEngine, sqlite_path: Path) -> None:
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)")
        conn.execute("INSERT INTO t VALUES (1, 1.5, 'x', x'0102', NULL), (NULL, NULL, NULL, NULL, NULL)")
    table = fetch_table(sqlite_engine, "SELECT * FROM t ORDER BY i IS NULL")
    assert table.schema == pa.schema(
        [("i", pa.int64()), ("r", pa.float64()), ("s", pa.string()), ("b", pa.binary()), ("n", pa.null())]
    )
    assert table.to_pylist()[0] == {"i": 1, "r": 1.5, "s": "x", "b": b"\x01\x02", "n": None}


def test_sqlite_mixed_types_in_first_batch_become_text(sqlite_engine: SQLAlchemySourceEngine) -> None:
    table = fetch_table(sqlite_engine, "SELECT 1 AS v UNION ALL SELECT 'two'")
    assert table.schema.field("v").type == pa.string()
    assert sorted(table.column("v").to_pylist()) == ["1", "two"]


def test_sqlite_later_batch_that_does_not_fit_fails_naming_the_column(
    sqlite_engine: SQLAlchemySourceEngine,
) -> None:
    sql = "SELECT 1 AS v UNION ALL SELECT 2 UNION ALL SELECT 2.5"
    with (
        pytest.raises(QueryFailedError, match="column 'v'"),
        sqlite_engine.execute(Statement.plain(sql), batch_size=2) as execution,
    ):
        drain(execution)


def test_sqlite_empty_result_keeps_its_columns(sqlite_engine: SQLAlchemySourceEngine) -> None:
    assert fetch_table(sqlite_engine, "SELECT 1 AS a, 'x' AS b WHERE 0").schema.names == ["a", "b"]


def test_sqlite_binds_use_question_marks(sqlite_engine: SQLAlchemySourceEngine) -> None:
    statement = bound("SELECT ", BindValue(7), " AS n, '100%' AS pct, ", BindValue(HOSTILE), " AS s")
    assert fetch_table(sqlite_engine, statement).to_pylist() == [{"n": 7, "pct": "100%", "s": HOSTILE}]


def test_sqlite_duplicate_column_names_are_made_unique(sqlite_engine: SQLAlchemySourceEngine) -> None:
    assert fetch_table(sqlite_engine, "SELECT 1 AS a, 2 AS a").schema.names == ["a", "a_1"]


def test_sqlite_cancel_interrupts_a_long_query(sqlite_engine: SQLAlchemySourceEngine) -> None:
    assert_cancels_quickly(
        sqlite_engine,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c",
    )


def test_sqlite_cancel_before_start_never_runs(sqlite_engine: SQLAlchemySourceEngine) -> None:
    execution = sqlite_engine.execute(Statement.plain("SELECT 1"))
    execution.cancel()
    with pytest.raises(QueryCancelledError), execution:
        drain(execution)


def test_sqlite_streams_in_batches(sqlite_engine: SQLAlchemySourceEngine) -> None:
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25000) SELECT x FROM c"
    with sqlite_engine.execute(Statement.plain(sql), batch_size=10_000) as execution:
        assert [b.num_rows for b in drain(execution)] == [10_000, 10_000, 5_000]


def test_sqlite_syntax_error(sqlite_engine: SQLAlchemySourceEngine) -> None:
    with (
        pytest.raises(QueryFailedError, match='near "SELEC": syntax error'),
        sqlite_engine.execute(Statement.plain("SELEC 1")) as execution,
    ):
        drain(execution)


def test_sqlite_list_tables(sqlite_engine: SQLAlchemySourceEngine, sqlite_path: Path) -> None:
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, total NUMERIC(10, 2), note TEXT, at DATETIME)")
        conn.execute("CREATE VIEW big AS SELECT id FROM orders WHERE total > 100")
    tables = {t.name: t for t in sqlite_engine.list_tables()}
    assert [(c.name, c.type) for c in tables["orders"].columns] == [
        ("id", "integer"),
        ("total", "decimal"),
        ("note", "string"),
        ("at", "datetime"),
    ]
    assert tables["big"].kind == "view"


# --- DuckDB files --------------------------------------------------------------------------------------


def test_duckdb_url_delegates_to_a_writable_duckdb_engine(tmp_path: Path) -> None:
    path = tmp_path / "source.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "CREATE TABLE t AS SELECT 1::BIGINT AS id, DATE '2024-01-02' AS d, 1.5::DECIMAL(4,1) AS n"
        )
    engine = SQLAlchemySourceEngine(f"duckdb:///{path}")
    try:
        engine.test_connection()
        table = fetch_table(engine, bound("SELECT * FROM t WHERE id = ", BindValue(1)))
        assert table.schema == pa.schema([("id", pa.int64()), ("d", pa.date32()), ("n", pa.decimal128(4, 1))])
        assert table.to_pylist() == [{"id": 1, "d": dt.date(2024, 1, 2), "n": Decimal("1.5")}]
        assert [t.name for t in engine.list_tables()] == ["t"]
    finally:
        engine.close()
