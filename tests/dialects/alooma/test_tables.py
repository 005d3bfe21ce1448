"""Output tables, schemas and scheduled (consolidation) queries through the real alooma client."""

from __future__ import annotations

import pytest

from tests.dialects.alooma.conftest import Alooma

COLUMNS = [
    {
        "columnName": "id",
        "columnType": {"type": "BIGINT", "nonNull": True},
        "distKey": False,
        "primaryKey": True,
        "sortKeyIndex": 0,
    },
    {
        "columnName": "name",
        "columnType": {"type": "VARCHAR", "length": 100, "nonNull": False},
        "distKey": False,
        "primaryKey": False,
        "sortKeyIndex": -1,
    },
]


def test_create_alter_list_and_drop_a_table(al: Alooma) -> None:
    schemas = al.client.get_schemas()
    assert {"schemaName": "public", "default": True} in schemas
    created = al.client.create_table("people", COLUMNS)
    assert created["tableName"] == "people" and created["schema"] == "public"
    by_name = {c["columnName"]: c for c in created["columns"]}
    assert by_name["id"]["primaryKey"] is True
    assert by_name["name"]["columnType"] == {"type": "VARCHAR", "length": 100, "nonNull": False}

    extra = {"columnName": "age", "columnType": {"type": "INT", "nonNull": False}}
    altered = al.client.alter_table("people", [*COLUMNS, extra])
    assert altered.status_code == 200
    assert "age" in {c["columnName"] for c in altered.json()["columns"]}

    tables = {t["tableName"]: t for t in al.client.get_tables()}
    assert {c["columnName"] for c in tables["people"]["columns"]} == {"id", "name", "age"}
    assert {t["tableName"]: t["columns"] for t in al.client.get_table_names()}["people"] == []
    assert "people" in {t["tableName"] for t in al.client.get_tables(schema="public")}
    assert "people" in {t["tableName"] for t in al.client.get_table_names(schema="public")}
    assert al.client.get_tables(shallow=True, schema="public")[0]["columns"] == []

    assert al.client.get_table_dependencies("public", "people") == []
    assert al.client.drop_table("public", "people") == 200
    assert "people" not in {t["tableName"] for t in al.client.get_tables()}
    al.client.create_table("people2", COLUMNS)
    assert al.client.drop_table("public", "people2", cascade=True) == 200


def test_a_bad_column_type_is_a_400_with_a_message(al: Alooma) -> None:
    with pytest.raises(Exception, match="columnType"):
        al.client.create_table("bad", [{"columnName": "x", "columnType": {"type": "NOPE"}}])


def test_scheduled_queries(al: Alooma) -> None:
    al.client.create_table("orders", COLUMNS)
    custom = al.client.schedule_query("orders", "SELECT count(*) AS n FROM orders", frequency=6)
    assert custom.status_code == 200
    created = custom.json()
    assert created["configuration"]["query_type"] == "custom"
    assert created["configuration"]["frequency"] == 6
    cron = al.client.schedule_query("orders", "SELECT 1 AS one", run_at="0 3 * * *").json()
    assert cron["configuration"]["run_at"] == "0 3 * * *"

    queries = al.client.get_queries()
    assert set(queries) == {created["id"], cron["id"]}
    for query_id, query in queries.items():
        assert query["status"] == "active" and query["id"] == query_id
    assert set(al.client.get_scheduled_queries()) == set(queries)
    assert al.client.get_scheduled_queries_in_error_state() == {}

    ran = al.client.run_query(created["id"])
    assert ran.status_code == 200
    for query_id in (created["id"], cron["id"]):
        al.client.remove_scheduled_query(query_id)
    assert al.client.get_queries() == {}
