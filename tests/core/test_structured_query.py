"""Structured queries: parsed, compiled with sqlglot, and run on real DuckDB and PostgreSQL databases."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from openlytics.core.datasets.structured_query import (
    OPERATORS,
    compile_conditions,
    compile_structured_query,
    parse_conditions,
    parse_structured_query,
    shape_result,
)
from openlytics.core.errors import InvalidInputError
from openlytics.results.formats import json_value

POSTGRES_DSN = os.environ.get("OPENLYTICS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
INJECTION = "x' OR 1=1 --"
BACKSLASH = "ends with a backslash\\"
WEIRD = 'we"ird; DROP TABLE x; --'

COLUMNS = {
    "id": "int64",
    "quarter": "string",
    "sales": "int32",
    "year": "int64",
    "price": "float64",
    "amount": "decimal",
    "day": "date",
    "at": "datetime",
    "ok": "bool",
    WEIRD: "string",
}
DDL = {
    "duckdb": {"int64": "BIGINT", "int32": "INTEGER", "float64": "DOUBLE", "decimal": "DECIMAL(10, 2)"},
    "postgres": {
        "int64": "BIGINT",
        "int32": "INTEGER",
        "float64": "DOUBLE PRECISION",
        "decimal": "NUMERIC(10, 2)",
    },
}
OTHER_DDL = {"string": "TEXT", "date": "DATE", "datetime": "TIMESTAMP", "bool": "BOOLEAN"}
D = decimal.Decimal
ROWS: list[tuple[Any, ...]] = [
    (
        1,
        "Q1",
        120,
        2015,
        1.5,
        D("10.25"),
        dt.date(2015, 1, 3),
        dt.datetime(2015, 1, 3, 10, 11, 12),
        True,
        "a",
    ),
    (2, "Q2", 80, 2015, 2.5, D("20.50"), dt.date(2015, 4, 5), dt.datetime(2015, 4, 5, 11, 0, 0), False, "b"),
    (3, "Q2", 85, 2014, None, None, dt.date(2014, 5, 6), None, None, None),
    (4, "", 25, 2015, 3.0, D("1.00"), None, dt.datetime(2015, 12, 31, 23, 59, 59), True, "a"),
    (5, None, 10, 2016, 4.0, D("2.00"), dt.date(2016, 2, 29), dt.datetime(2016, 2, 29, 0, 5, 0), False, "b"),
    (
        6,
        INJECTION,
        7,
        2016,
        0.5,
        D("3.00"),
        dt.date(2016, 3, 1),
        dt.datetime(2016, 3, 1, 0, 5, 30),
        True,
        "c",
    ),
    (
        7,
        BACKSLASH,
        3,
        2016,
        1.0,
        D("4.00"),
        dt.date(2016, 3, 2),
        dt.datetime(2016, 3, 2, 12, 0, 0),
        False,
        "c",
    ),
]


def create_table_sql(dialect: str, table: str) -> str:
    types = {**OTHER_DDL, **DDL[dialect]}
    cols = ", ".join(
        f'"{name.replace(chr(34), chr(34) * 2)}" {types[kind]}' for name, kind in COLUMNS.items()
    )
    return f'CREATE TABLE "{table}" ({cols})'


Runner = Callable[..., tuple[list[tuple[str, str]], list[list[Any]]]]


class Database:
    """A table holding ROWS in one engine, and a way to run structured queries over it."""

    def __init__(self, dialect: str, table: str, execute: Callable[[str], list[tuple[Any, ...]]]) -> None:
        self.dialect = dialect
        self.table = table
        self.execute = execute

    def compile(self, payload: Mapping[str, Any], **options: Any) -> Any:
        query = parse_structured_query(payload)
        return compile_structured_query(
            query, table=self.table, columns=COLUMNS, dialect=self.dialect, **options
        )

    def run(
        self, payload: Mapping[str, Any], **options: Any
    ) -> tuple[list[tuple[str, str]], list[list[Any]]]:
        compiled = self.compile(payload, **options)
        rows = [[json_value(v) for v in row] for row in self.execute(compiled.sql)]
        return compiled.output_columns, rows

    def ids(self, *where: dict[str, Any]) -> list[int]:
        _, rows = self.run({"select": ["id"], "where": list(where), "order_by": [{"name": "id"}]})
        return [r[0] for r in rows]


@pytest.fixture(scope="module")
def duck() -> Iterator[Database]:
    con = duckdb.connect()
    con.execute(create_table_sql("duckdb", "sales"))
    con.executemany(f"INSERT INTO sales VALUES ({', '.join('?' * len(COLUMNS))})", ROWS)
    yield Database("duckdb", "sales", lambda sql: con.execute(sql).fetchall())
    con.close()


@pytest.fixture(scope="module")
def pg() -> Iterator[Database]:
    import psycopg

    table = f"sq_{uuid.uuid4().hex[:12]}"
    con = psycopg.connect(POSTGRES_DSN, autocommit=True)
    con.execute(create_table_sql("postgres", table))
    try:
        with con.cursor() as cur:
            cur.executemany(f'INSERT INTO "{table}" VALUES ({", ".join(["%s"] * len(COLUMNS))})', ROWS)

        def execute(sql: str) -> list[tuple[Any, ...]]:
            with con.cursor() as cur:
                cur.execute(sql.encode())  # bytes: psycopg must not look for %s placeholders
                return cur.fetchall()

        yield Database("postgres", table, execute)
    finally:
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.close()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Database:
    return request.getfixturevalue("duck" if request.param == "duckdb" else "pg")


def rows_of(db: Database, payload: dict[str, Any], **options: Any) -> list[list[Any]]:
    return db.run(payload, **options)[1]


# ----- select, types ------------------------------------------------------------------------------
def test_plain_select_keeps_select_order_and_column_types(db: Database) -> None:
    columns, rows = db.run(
        {
            "select": ["sales", {"name": "quarter"}, "day"],
            "where": [],
            "limit": 2,
            "order_by": [{"name": "id", "direction": "asc"}],
        }
    )
    assert columns == [("sales", "int32"), ("quarter", "string"), ("day", "date")]
    assert rows == [[120, "Q1", "2015-01-03"], [80, "Q2", "2015-04-05"]]


def test_an_empty_select_returns_every_column(db: Database) -> None:
    columns, rows = db.run({"order_by": ["id"], "limit": 1})
    assert columns == list(COLUMNS.items())
    assert rows == [[1, "Q1", 120, 2015, 1.5, 10.25, "2015-01-03", "2015-01-03T10:11:12", True, "a"]]


# ----- where --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", "80", [4, 5, 6, 7]),
        (">", 80, [1, 3]),
        ("<=", "80", [2, 4, 5, 6, 7]),
        (">=", 80.0, [1, 2, 3]),
        ("==", "85", [3]),
        ("!=", " 85 ", [1, 2, 4, 5, 6, 7]),
        ("<", "79.5", [4, 5, 6, 7]),
        ("in", '["80", 85]', [2, 3]),
        ("in", [120, "7"], [1, 6]),
        ("!in", "[120, 80, 85, 25]", [5, 6, 7]),
        ("in", [], []),
        ("!in", "[]", [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_numeric_comparisons_coerce_their_values(
    db: Database, op: str, value: Any, expected: list[int]
) -> None:
    assert db.ids({"name": "sales", "op": op, "value": value}) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"name": "quarter", "op": "==", "value": "Q2"}, [2, 3]),
        # A missing value differs from every value: != and !in keep rows where it is missing.
        ({"name": "quarter", "op": "!=", "value": "Q2"}, [1, 4, 5, 6, 7]),
        ({"name": "quarter", "op": "!in", "value": '["Q2", "Q1"]'}, [4, 5, 6, 7]),
        ({"name": "quarter", "op": "in", "value": '["Q1","Q2"]'}, [1, 2, 3]),
        ({"name": "price", "op": "!=", "value": "1.5"}, [2, 3, 4, 5, 6, 7]),
        ({"name": "amount", "op": ">=", "value": "10.25"}, [1, 2]),
        ({"name": "amount", "op": "in", "value": ["2", 3]}, [5, 6]),
        ({"name": "year", "op": "==", "value": 2016.0}, [5, 6, 7]),
        ({"name": "ok", "op": "==", "value": "true"}, [1, 4, 6]),
        ({"name": "ok", "op": "==", "value": False}, [2, 5, 7]),
        ({"name": "ok", "op": "!=", "value": 1}, [2, 3, 5, 7]),
        ({"name": "day", "op": ">=", "value": "2016-02-29"}, [5, 6, 7]),
        ({"name": "day", "op": "<", "value": "2015-01-03T12:00:00"}, [1, 3]),
        ({"name": "day", "op": "in", "value": '["2015-04-05", "2016-03-02"]'}, [2, 7]),
        ({"name": "at", "op": ">", "value": "2015-12-31T23:59:58"}, [4, 5, 6, 7]),
        ({"name": "at", "op": "<", "value": "2015-04-05"}, [1]),
        ({"name": "at", "op": "==", "value": "2015-04-05T13:00:00+02:00"}, [2]),
        ({"name": WEIRD, "op": "==", "value": "c"}, [6, 7]),
    ],
)
def test_comparisons_on_every_type(db: Database, where: dict[str, Any], expected: list[int]) -> None:
    assert db.ids(where) == expected


@pytest.mark.parametrize(
    ("name", "op", "expected"),
    [
        ("quarter", "is_defined", [1, 2, 3, 4, 6, 7]),
        ("quarter", "is_not_defined", [5]),
        ("quarter", "is_empty", [4, 5]),
        ("quarter", "is_not_empty", [1, 2, 3, 6, 7]),
        ("price", "is_defined", [1, 2, 4, 5, 6, 7]),
        ("price", "is_not_defined", [3]),
        ("price", "is_empty", [3]),
        ("price", "is_not_empty", [1, 2, 4, 5, 6, 7]),
        ("day", "is_empty", [4]),
        ("ok", "is_not_empty", [1, 2, 4, 5, 6, 7]),
    ],
)
def test_presence_operators(db: Database, name: str, op: str, expected: list[int]) -> None:
    assert db.ids({"name": name, "op": op}) == expected
    assert db.ids({"name": name, "op": op, "value": "ignored"}) == expected


def test_conditions_are_anded(db: Database) -> None:
    where = [
        {"name": "year", "op": "==", "value": "2015"},
        {"name": "quarter", "op": "is_not_empty"},
        {"name": "sales", "op": ">", "value": "100"},
    ]
    assert db.ids(*where) == [1]


# ----- injection ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [INJECTION, BACKSLASH, "'; DROP TABLE sales; --", "\\'); --", "$$ or $x$"])
def test_values_stay_literals(db: Database, value: str) -> None:
    expected = [i for i, row in enumerate(ROWS, 1) if row[1] == value]
    assert db.ids({"name": "quarter", "op": "==", "value": value}) == expected
    assert db.ids({"name": "quarter", "op": "in", "value": [value]}) == expected
    compiled = db.compile({"select": ["id"], "where": [{"name": "quarter", "op": "==", "value": value}]})
    tree = sqlglot.parse_one(compiled.sql, read=db.dialect)
    [condition] = list(tree.find_all(exp.EQ))
    assert condition.expression.this == value  # one literal, whatever it contains
    assert len(list(tree.find_all(exp.Select))) == 1
    assert db.ids() == [1, 2, 3, 4, 5, 6, 7]  # and the table is still there


@pytest.mark.parametrize("name", ['sales" FROM sales; DROP TABLE sales; --', "sales --", "SALES", "1"])
def test_names_that_are_not_columns_are_refused_by_name(db: Database, name: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"select": [name]}, "select[0].name"),
        ({"select": [{"name": name, "agg_function": "sum"}]}, "select[0].name"),
        ({"select": ["id"], "where": [{"name": name, "op": "==", "value": 1}]}, "where[0].name"),
        ({"select": ["id"], "group_by": [name]}, "group_by[0].name"),
        ({"select": ["id"], "order_by": [{"name": name}]}, "order_by[0].name"),
    ]
    for payload, field in cases:
        with pytest.raises(InvalidInputError) as caught:
            db.compile(payload)
        assert caught.value.field == field
        assert repr(name) in caught.value.reason


def test_a_column_name_with_quotes_is_quoted(db: Database) -> None:
    columns, rows = db.run({"select": [WEIRD, {"name": "id", "agg_function": "count"}], "order_by": [WEIRD]})
    assert columns == [(WEIRD, "string"), ("id", "int64")]
    assert rows == [["a", 2], ["b", 2], ["c", 2], [None, 1]]


def test_table_and_schema_names_are_quoted() -> None:
    query = parse_structured_query({"select": ["a"]})
    sql = compile_structured_query(query, table='t"; DROP', schema="my schema", columns={"a": "int64"}).sql
    assert sql == 'SELECT "a" AS "a" FROM "my schema"."t""; DROP"'


def test_a_comment_accepts_only_plain_words() -> None:
    query = parse_structured_query({"select": ["a"]})
    sql = compile_structured_query(
        query, table="t", columns={"a": "int64"}, comment="dataset 3 generation 4"
    ).sql
    assert sql.startswith("/* dataset 3 generation 4 */ SELECT")
    with pytest.raises(InvalidInputError) as caught:
        compile_structured_query(query, table="t", columns={"a": "int64"}, comment="x */ DROP TABLE t; /*")
    assert caught.value.field == "comment"


# ----- coercion errors ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "shown"),
    [
        ({"name": "sales", "op": "<", "value": "20x"}, "'20x'"),
        ({"name": "sales", "op": "<", "value": "1e999"}, "'1e999'"),
        ({"name": "sales", "op": "==", "value": True}, "True"),
        ({"name": "sales", "op": "==", "value": str(2**63)}, repr(str(2**63))),
        ({"name": "price", "op": ">", "value": "NaN"}, "'NaN'"),
        ({"name": "price", "op": ">", "value": "1_000"}, "'1_000'"),
        ({"name": "amount", "op": ">", "value": "ten"}, "'ten'"),
        ({"name": "ok", "op": "==", "value": "maybe"}, "'maybe'"),
        ({"name": "day", "op": ">", "value": "03/01/2016"}, "'03/01/2016'"),
        ({"name": "at", "op": ">", "value": "yesterday"}, "'yesterday'"),
        ({"name": "quarter", "op": "==", "value": "a\x00b"}, "'a\\x00b'"),
        ({"name": "quarter", "op": "==", "value": False}, "False"),
        ({"name": "sales", "op": "in", "value": '["1", "two"]'}, "'two'"),
    ],
)
def test_a_value_that_does_not_fit_its_column_is_named(
    db: Database, where: dict[str, Any], shown: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        db.compile({"select": ["id"], "where": [where]})
    assert caught.value.field == "where[0].value"
    assert shown in caught.value.reason
    assert repr(where["name"]) in caught.value.reason


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ({"name": "sales", "op": "<"}, "where[0].value"),
        ({"name": "sales", "op": "<", "value": None}, "where[0].value"),
        ({"name": "sales", "op": "==", "value": [1, 2]}, "where[0].value"),
        ({"name": "sales", "op": "in", "value": "Q1"}, "where[0].value"),
        ({"name": "sales", "op": "in", "value": '{"a": 1}'}, "where[0].value"),
        ({"name": "sales", "op": "in", "value": [[1]]}, "where[0].value"),
        ({"name": "sales", "op": "like", "value": "1"}, "where[0].op"),
        ({"name": "sales", "op": "=", "value": "1"}, "where[0].op"),
        ({"name": "", "op": "==", "value": "1"}, "where[0].name"),
        ({"name": "sales", "op": "==", "value": "1", "extra": 1}, "where[0]"),
        ("sales > 1", "where[0]"),
    ],
)
def test_malformed_conditions_are_refused(where: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_structured_query({"where": [where]})
    assert caught.value.field == field


def test_filters_on_types_that_cannot_be_compared_are_refused() -> None:
    query = parse_structured_query({"where": [{"name": "tags", "op": "==", "value": "x"}]})
    with pytest.raises(InvalidInputError, match="cannot be compared"):
        compile_structured_query(query, table="t", columns={"tags": "list"})
    query = parse_structured_query({"where": [{"name": "tags", "op": "is_defined"}]})
    assert "IS NULL" in compile_structured_query(query, table="t", columns={"tags": "list"}).sql


# ----- aggregates ---------------------------------------------------------------------------------
def test_every_aggregate_and_its_type(db: Database) -> None:
    select = [
        {"name": "sales", "agg_function": agg} for agg in ("sum", "min", "max", "avg", "count", "dcount")
    ]
    select += [
        {"name": "price", "agg_function": "sum"},
        {"name": "price", "agg_function": "count"},
        {"name": "amount", "agg_function": "sum"},
        {"name": "quarter", "agg_function": "dcount"},
        {"name": "quarter", "agg_function": "max"},
        {"name": "day", "agg_function": "min"},
    ]
    columns, rows = db.run({"select": select})
    assert [t for _, t in columns] == [
        "int64", "int32", "int32", "float64", "int64", "int64",
        "float64", "int64", "decimal", "int64", "string", "date",
    ]  # fmt: skip
    assert all(name in ("sales", "price", "amount", "quarter", "day") for name, _ in columns)
    [row] = rows
    assert row[:6] == [330, 3, 120, pytest.approx(330 / 7), 7, 7]
    assert row[6:] == [pytest.approx(12.5), 6, 40.75, 5, INJECTION, "2014-05-06"]


def test_group_by_with_aggregates_and_order_on_an_aggregate(db: Database) -> None:
    columns, rows = db.run(
        {
            "select": [
                "year",
                {"name": "sales", "agg_function": "sum"},
                {"name": "$$count$$", "agg_function": "sum"},
            ],
            "group_by": ["year"],
            "order_by": [{"name": "sales", "agg_function": "sum", "direction": "desc"}],
        }
    )
    assert columns == [("year", "int64"), ("sales", "int64"), ("$$count$$", "int64")]
    assert rows == [[2015, 225, 3], [2014, 85, 1], [2016, 20, 3]]


def test_selected_columns_without_aggregate_are_grouped(db: Database) -> None:
    rows = rows_of(db, {"select": ["year", {"name": "price", "agg_function": "max"}], "order_by": ["year"]})
    assert rows == [[2014, None], [2015, 3.0], [2016, 4.0]]


def test_order_on_an_aggregate_that_is_not_selected_with_limit(db: Database) -> None:
    rows = rows_of(
        db,
        {
            "select": ["year"],
            "group_by": ["year"],
            "order_by": [{"name": "price", "agg_function": "avg", "direction": "asc"}],
            "limit": 2,
        },
    )
    # 2014 has no price: its average is missing and missing values sort last.
    assert rows == [[2016], [2015]]


def test_descending_order_puts_missing_values_last_on_every_engine(db: Database) -> None:
    rows = rows_of(db, {"select": ["id"], "order_by": [{"name": "price", "direction": "desc"}, "id"]})
    assert [r[0] for r in rows] == [5, 4, 2, 1, 7, 6, 3]


def test_limit_zero_and_limit_larger_than_the_table(db: Database) -> None:
    assert rows_of(db, {"select": ["id"], "limit": 0}) == []
    assert len(rows_of(db, {"select": ["id"], "limit": 1000})) == 7


def test_order_by_a_column_that_is_neither_grouped_nor_aggregated_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInputError) as caught:
        db.compile({"select": [{"name": "sales", "agg_function": "sum"}], "order_by": [{"name": "year"}]})
    assert caught.value.field == "order_by[0]"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"name": "quarter", "agg_function": "sum"}, "numeric"),
        ({"name": "day", "agg_function": "avg"}, "numeric"),
        ({"name": "ok", "agg_function": "sum"}, "numeric"),
        ({"name": "$$count$$", "agg_function": "max"}, "sum or count"),
    ],
)
def test_aggregates_that_do_not_fit_their_column_are_refused(
    db: Database, item: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInputError, match=reason) as caught:
        db.compile({"select": [item]})
    assert caught.value.field == "select[0].name"


# ----- $$count$$ ----------------------------------------------------------------------------------
@pytest.mark.parametrize("agg", ["sum", "count", None])
def test_count_column_counts_rows(db: Database, agg: str | None) -> None:
    item = {"name": "$$count$$", "agg_function": agg}
    assert db.run({"select": [item]}) == ([("$$count$$", "int64")], [[7]])
    where = [{"name": "year", "op": "==", "value": "2015"}]
    assert rows_of(db, {"select": [item], "where": where}) == [[3]]


def test_count_column_by_group_ordered_by_count(db: Database) -> None:
    rows = rows_of(
        db,
        {
            "select": ["year", {"name": "$$count$$", "agg_function": "sum"}],
            "order_by": [{"name": "$$count$$", "agg_function": "sum", "direction": "desc"}, "year"],
        },
    )
    assert rows == [[2015, 3], [2016, 3], [2014, 1]]


def test_count_column_cannot_be_filtered_or_grouped(db: Database) -> None:
    with pytest.raises(InvalidInputError, match="filter"):
        db.compile({"where": [{"name": "$$count$$", "op": ">", "value": 1}]})
    with pytest.raises(InvalidInputError, match="group"):
        db.compile({"group_by": ["$$count$$"]})


# ----- time slots ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("slot", "kind", "expected"),
    [
        ("year", "int64", [2015, 2015, 2015, 2016, 2016, 2016]),
        ("quarter", "date", ["2015-01-01", "2015-04-01", "2015-10-01", "2016-01-01", "2016-01-01", "2016-01-01"]),
        ("month", "date", ["2015-01-01", "2015-04-01", "2015-12-01", "2016-02-01", "2016-03-01", "2016-03-01"]),
        ("week", "date", ["2014-12-29", "2015-03-30", "2015-12-28", "2016-02-29", "2016-02-29", "2016-02-29"]),
        ("weekday", "int64", [6, 7, 4, 1, 2, 3]),
        ("day", "date", ["2015-01-03", "2015-04-05", "2015-12-31", "2016-02-29", "2016-03-01", "2016-03-02"]),
        ("hour", "datetime", ["2015-01-03T10:00:00", "2015-04-05T11:00:00", "2015-12-31T23:00:00",
                              "2016-02-29T00:00:00", "2016-03-01T00:00:00", "2016-03-02T12:00:00"]),
        ("minute", "datetime", ["2015-01-03T10:11:00", "2015-04-05T11:00:00", "2015-12-31T23:59:00",
                                "2016-02-29T00:05:00", "2016-03-01T00:05:00", "2016-03-02T12:00:00"]),
    ],
)  # fmt: skip
def test_every_timeslot_on_a_datetime_column(db: Database, slot: str, kind: str, expected: list[Any]) -> None:
    columns, rows = db.run(
        {
            "select": ["at", "id"],
            "group_by": [{"name": "at", "timeslot": slot}, "id"],
            "where": [{"name": "at", "op": "is_defined"}],
            "order_by": ["id"],
        }
    )
    assert columns == [("at", kind), ("id", "int64")]
    assert [r[0] for r in rows] == expected


@pytest.mark.parametrize(
    ("slot", "expected"),
    [
        ("year", [[2014, 85], [2015, 200], [2016, 20]]),
        ("quarter", [["2014-04-01", 85], ["2015-01-01", 120], ["2015-04-01", 80], ["2016-01-01", 20]]),
        ("weekday", [[1, 10], [2, 92], [3, 3], [6, 120], [7, 80]]),
        ("hour", [["2014-05-06T00:00:00", 85], ["2015-01-03T00:00:00", 120], ["2015-04-05T00:00:00", 80],
                  ["2016-02-29T00:00:00", 10], ["2016-03-01T00:00:00", 7], ["2016-03-02T00:00:00", 3]]),
    ],
)  # fmt: skip
def test_timeslots_on_a_date_column_with_sums(db: Database, slot: str, expected: list[list[Any]]) -> None:
    rows = rows_of(
        db,
        {
            "select": ["day", {"name": "sales", "agg_function": "sum"}],
            "group_by": [{"name": "day", "timeslot": slot}],
            "where": [{"name": "day", "op": "is_defined"}],
            "order_by": ["day"],
        },
    )
    assert rows == expected


def test_a_timeslot_ordered_by_its_aggregate(db: Database) -> None:
    rows = rows_of(
        db,
        {
            "select": [{"name": "at", "timeslot": "year"}, {"name": "id", "agg_function": "count"}],
            "order_by": [
                {"name": "id", "agg_function": "count", "direction": "desc"},
                {"name": "at", "timeslot": "year"},
            ],
        },
    )
    assert rows == [[2015, 3], [2016, 3], [None, 1]]


def test_a_timeslot_needs_a_date_or_datetime_column(db: Database) -> None:
    with pytest.raises(InvalidInputError, match="date or datetime") as caught:
        db.compile({"group_by": [{"name": "quarter", "timeslot": "month"}]})
    assert caught.value.field == "group_by[0].name"


# ----- measures -----------------------------------------------------------------------------------
def test_a_measure_is_computed_per_row(db: Database) -> None:
    columns, rows = db.run(
        {"select": ["sales", "measure"], "order_by": ["sales"]}, measures={"measure": "2 * [sales]"}
    )
    assert columns == [("sales", "int32"), ("measure", "int64")]
    assert rows == [[3, 6], [7, 14], [10, 20], [25, 50], [80, 160], [85, 170], [120, 240]]


def test_measures_from_the_query_aggregated_and_ordered(db: Database) -> None:
    payload = {
        "select": ["year", {"name": "margin", "agg_function": "sum"}],
        "order_by": [{"name": "margin", "agg_function": "sum", "direction": "desc"}],
        "measures": {"margin": "([sales] - -[year]) * 2 - 4000"},
    }
    columns, rows = db.run(payload)
    assert columns == [("year", "int64"), ("margin", "int64")]
    assert rows == [[2015, 2 * 225 + 3 * 2 * 2015 - 3 * 4000], [2014, 2 * 85 + 2 * 2014 - 4000], [2016, 2 * 20 + 3 * 2 * 2016 - 3 * 4000]]  # fmt: skip


def test_a_measure_with_division_is_a_float_and_never_divides_by_zero(db: Database) -> None:
    measures = {"ratio": "[sales] / ([id] - 3)", "half": "1/2", "scaled": "[price] * 2.5 + .5"}
    columns, rows = db.run(
        {"select": ["id", "ratio", "half", "scaled"], "order_by": ["id"], "limit": 4}, measures=measures
    )
    assert [t for _, t in columns] == ["int64", "float64", "float64", "float64"]
    assert rows == [[1, -60.0, 0.5, 4.25], [2, -80.0, 0.5, 6.75], [3, None, 0.5, None], [4, 25.0, 0.5, 8.0]]


def test_a_measure_can_filter_and_group(db: Database) -> None:
    measures = {"double": "2*[sales]"}
    rows = rows_of(
        db, {"select": ["id"], "where": [{"name": "double", "op": ">", "value": "200"}]}, measures=measures
    )
    assert rows == [[1]]


def test_columns_win_over_measures_of_the_same_name(db: Database) -> None:
    assert rows_of(db, {"select": ["sales"], "order_by": ["id"], "limit": 1}, measures={"sales": "0"}) == [
        [120]
    ]


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("2 * sales", "unexpected"),
        ("sum([sales])", "unexpected"),
        ("[sales]; DROP TABLE sales", "unexpected"),
        ("'x'", "unexpected"),
        ("(1 + 2", "ends too early"),
        ("1 + 2)", "unexpected ')'"),
        ("2 +", "ends too early"),
        ("[]", "empty column"),
        ("", "formula"),
        ("-" * 60 + "1", "nested"),
        ("(" * 60 + "1" + ")" * 60, "nested"),
        ("[quarter] * 2", "not numeric"),
        ("[nope] * 2", "unknown column 'nope'"),
    ],
)
def test_bad_formulas_are_refused(db: Database, formula: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(reason)) as caught:
        db.compile({"select": ["m"], "measures": {"m": formula}})
    assert caught.value.field in ("measures.m", "select[0].name")


# ----- parsing ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"select": "sales"}, "select"),
        ({"select": [1]}, "select[0]"),
        ({"select": [{"name": "sales", "agg_function": "median"}]}, "select[0].agg_function"),
        ({"select": [{"name": "sales", "agg": "sum"}]}, "select[0]"),
        ({"select": [{"name": "at", "agg_function": "max", "timeslot": "day"}]}, "select[0]"),
        ({"group_by": [{"name": "at", "timeslot": "fortnight"}]}, "group_by[0].timeslot"),
        ({"order_by": [{"name": "id", "direction": "up"}]}, "order_by[0].direction"),
        ({"limit": -1}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"where": {"name": "id"}}, "where"),
        ({"measures": ["2 * [sales]"]}, "measures"),
        ({"selct": ["id"]}, "query"),
    ],
)
def test_malformed_queries_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_structured_query(payload)
    assert caught.value.field == field


def test_names_of_functions_and_directions_ignore_case(db: Database) -> None:
    payload = {
        "select": [{"name": "sales", "agg_function": "SUM"}],
        "order_by": [{"name": "id", "direction": "DESC"}],
    }
    assert parse_structured_query(payload).select[0].agg_function == "sum"


def test_unknown_dialects_are_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        compile_structured_query(
            parse_structured_query({}), table="t", columns={"a": "int64"}, dialect="oracle"
        )
    assert caught.value.field == "dialect"


def test_conditions_alone_compile_for_a_delete() -> None:
    conditions = parse_conditions(
        [{"name": "a", "op": "in", "value": "[1, 2]"}, {"name": "b", "op": "is_empty"}]
    )
    sql = compile_conditions(conditions, columns={"a": "int64", "b": "string"}, dialect="postgresql")
    assert sql == '("a" IN (1, 2)) AND ("b" IS NULL OR "b" = \'\')'
    assert compile_conditions((), columns={}) == "TRUE"


# ----- results by rows or by columns --------------------------------------------------------------
def test_results_by_rows_or_by_columns_with_json_values() -> None:
    table = pa.table(
        {
            "d": pa.array([dt.date(2020, 1, 2), None]),
            "x": pa.array([1.5, float("nan")]),
            "n": pa.array([D("1.10"), D("2")], pa.decimal128(5, 2)),
        }
    )
    assert shape_result(table, "row_by_row") == [["2020-01-02", 1.5, 1.1], [None, None, 2]]
    assert shape_result(table, "column_by_column") == [["2020-01-02", None], [1.5, None], [1.1, 2]]
    assert shape_result(pa.table({"a": pa.array([], pa.int64())})) == []
    with pytest.raises(InvalidInputError):
        shape_result(table, "by_cell")


# ----- property: random where clauses never produce broken SQL ------------------------------------
SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["20", " 3.5 ", "2016-02-29", "2015-01-03T10:11:12", "true", "[1, 2]", '["Q1","Q2"]', "\\", "'"]
    ),
)
CONDITIONS = st.fixed_dictionaries(
    {
        "name": st.sampled_from([*COLUMNS, "$$count$$", "nope"]),
        "op": st.sampled_from(OPERATORS),
        "value": st.one_of(SCALARS, st.lists(SCALARS, max_size=4)),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.lists(CONDITIONS, max_size=4))
def test_random_where_clauses_give_sql_that_parses_and_runs(
    duck: Database, where: list[dict[str, Any]]
) -> None:
    try:
        query = parse_structured_query({"select": ["id"], "where": where})
        compiled = {
            d: compile_structured_query(query, table="sales", columns=COLUMNS, dialect=d)
            for d in ("duckdb", "postgres")
        }
    except InvalidInputError:
        return
    for dialect, c in compiled.items():
        [statement] = sqlglot.parse(c.sql, read=dialect)
        assert statement is not None and len(list(statement.find_all(exp.Select))) == 1
    duck.execute(compiled["duckdb"].sql)


@pytest.mark.postgres
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.lists(CONDITIONS, max_size=4))
def test_random_where_clauses_run_on_postgres(pg: Database, where: list[dict[str, Any]]) -> None:
    try:
        compiled = pg.compile({"select": ["id"], "where": where})
    except InvalidInputError:
        return
    pg.execute(compiled.sql)
