"""Data sources: the warehouse, external databases (real PostgreSQL, MariaDB, SQLite), schema."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from openlytics.store.models import DataSource
from openlytics.testing import LiveServer
from tests.conftest import MARIADB_URL, POSTGRES_URL

PG_WITH_PASSWORD = "postgresql://postgres:not-a-real-secret@127.0.0.1:5432/test"  # trust auth ignores it
MARIADB_PLAIN = "mysql://root@127.0.0.1:3306/test"


@pytest.fixture
def pg_table() -> Iterator[str]:
    name = f"sales_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE TABLE {name} (id integer primary key, region text, amount numeric(10,2), at timestamptz)"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {name} VALUES (1, 'north', 10.50, now()), (2, 'south', 20.25, now()), (3, 'north', 1.00, now())"
            )
        )
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {name}"))
    engine.dispose()


@pytest.fixture
def mariadb_table() -> Iterator[str]:
    name = f"people_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(MARIADB_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {name} (id INT PRIMARY KEY, name VARCHAR(50), born DATE)"))
        conn.execute(
            sa.text(f"INSERT INTO {name} VALUES (1, 'Ada', '1815-12-10'), (2, 'Alan', '1912-06-23')")
        )
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {name}"))
    engine.dispose()


def test_every_organization_has_its_warehouse_as_default(new_org) -> None:
    sources = new_org.viewer.get("/api/v1/data-sources").json()
    assert sources["total"] == 1
    warehouse = sources["items"][0]
    assert warehouse["kind"] == "warehouse" and warehouse["is_default"] is True
    assert new_org.viewer.post(f"/api/v1/data-sources/{warehouse['id']}/test").json() == {"ok": True}
    assert new_org.admin.delete(f"/api/v1/data-sources/{warehouse['id']}").status_code == 409


@pytest.mark.postgres
def test_postgres_source_runs_queries_and_hides_its_password(
    server: LiveServer, new_org, pg_table: str
) -> None:
    created = new_org.admin.post("/api/v1/data-sources", json={"name": "pg", "url": PG_WITH_PASSWORD})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["kind"] == "postgresql"
    assert "not-a-real-secret" not in created.text and "***" in source["url"]
    assert "not-a-real-secret" not in new_org.admin.get(f"/api/v1/data-sources/{source['id']}").text
    with server.core.db.session() as s:
        record = s.get(DataSource, source["id"])
        assert record is not None and "not-a-real-secret" not in (record.url_encrypted or "")
    assert new_org.admin.post(f"/api/v1/data-sources/{source['id']}/test").json() == {"ok": True}

    run = new_org.editor.post(
        "/api/v1/runs",
        json={
            "sql": f"SELECT region, sum(amount) AS total FROM {pg_table} GROUP BY region ORDER BY region",
            "data_source_id": source["id"],
            "wait": 10,
        },
    )
    assert run.status_code == 200, run.text
    result = run.json()["result"]
    assert [c["name"] for c in result["columns"]] == ["region", "total"]
    assert result["columns"][1]["type"] in ("decimal", "float")
    assert [(r["region"], float(r["total"])) for r in result["rows"]] == [("north", 11.5), ("south", 20.25)]

    tables = new_org.viewer.get(f"/api/v1/data-sources/{source['id']}/schema").json()["tables"]
    mine = next(t for t in tables if t["name"] == pg_table)
    assert {c["name"]: c["type"] for c in mine["columns"]} == {
        "id": "integer",
        "region": "string",
        "amount": "decimal",
        "at": "datetime",
    }


@pytest.mark.mariadb
def test_mariadb_source_runs_queries_with_parameters(new_org, mariadb_table: str) -> None:
    source = new_org.admin.post("/api/v1/data-sources", json={"name": "maria", "url": MARIADB_PLAIN}).json()
    assert source["kind"] == "mysql"
    query = new_org.editor.post(
        "/api/v1/queries",
        json={
            "name": "born after",
            "data_source_id": source["id"],
            "sql": f"SELECT name, born FROM {mariadb_table} WHERE born > {{{{ after }}}} AND name LIKE 'A%'",
            "parameters": [{"name": "after", "type": "date"}],
        },
    ).json()
    run = new_org.viewer.post(
        f"/api/v1/queries/{query['id']}/run", json={"parameters": {"after": "1900-01-01"}, "wait": 10}
    )
    assert run.status_code == 200, run.text
    assert run.json()["result"]["rows"] == [{"name": "Alan", "born": "1912-06-23"}]


def test_dead_database_answers_502_and_the_server_keeps_serving(new_org) -> None:
    source = new_org.admin.post(
        "/api/v1/data-sources", json={"name": "dead", "url": "postgresql://nobody@127.0.0.1:1/none"}
    ).json()
    tested = new_org.admin.post(f"/api/v1/data-sources/{source['id']}/test")
    assert tested.status_code == 502
    assert tested.json()["error"]["code"] == "source_unavailable"
    run = new_org.editor.post(
        "/api/v1/runs", json={"sql": "SELECT 1", "data_source_id": source["id"], "wait": 10}
    )
    assert run.status_code == 502
    assert new_org.viewer.get("/api/v1/me").status_code == 200


def test_sqlite_files_are_allowed_only_under_configured_directories(
    server: LiveServer, new_org, tmp_path
) -> None:
    inside = server.settings.data_dir.parent / f"shop-{uuid.uuid4().hex[:6]}.db"
    with sqlite3.connect(inside) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL)")
        conn.execute("INSERT INTO items VALUES ('pen', 1.5), ('lamp', 20.0)")
    ok = new_org.admin.post("/api/v1/data-sources", json={"name": "shop", "url": f"sqlite:///{inside}"})
    assert ok.status_code == 201, ok.text
    run = new_org.editor.post(
        "/api/v1/runs",
        json={"sql": "SELECT name FROM items ORDER BY price", "data_source_id": ok.json()["id"], "wait": 10},
    )
    assert run.json()["result"]["rows"] == [{"name": "pen"}, {"name": "lamp"}]
    refused = new_org.admin.post(
        "/api/v1/data-sources", json={"name": "etc", "url": "sqlite:////etc/passwd.db"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "url"


@pytest.mark.parametrize("url", ["oracle://scott:tiger@db/x", "not a url", ""])
def test_unsupported_urls_are_rejected(new_org, url: str) -> None:
    response = new_org.admin.post("/api/v1/data-sources", json={"name": "bad", "url": url})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_source_names_are_unique_and_options_validated(new_org) -> None:
    assert (
        new_org.admin.post(
            "/api/v1/data-sources", json={"name": "Warehouse", "url": MARIADB_PLAIN}
        ).status_code
        == 409
    )
    bad = new_org.admin.post(
        "/api/v1/data-sources", json={"name": "m", "url": MARIADB_PLAIN, "options": {"timeout": -1}}
    )
    assert bad.status_code == 422
    for queue in ("", "a b", "x" * 101, 7):
        bad = new_org.admin.post(
            "/api/v1/data-sources", json={"name": "m", "url": MARIADB_PLAIN, "options": {"queue": queue}}
        )
        assert bad.status_code == 422, queue
        assert "queue" in bad.text
    routed = new_org.admin.post(
        "/api/v1/data-sources", json={"name": "m", "url": MARIADB_PLAIN, "options": {"queue": "heavy.mysql"}}
    )
    assert routed.status_code == 201, routed.text
    assert routed.json()["options"] == {"queue": "heavy.mysql"}


def test_warehouse_schema_lists_tables_with_types(new_org) -> None:
    new_org.editor.post(
        "/api/v1/runs",
        json={
            "sql": "CREATE TABLE t AS SELECT 1::INTEGER AS i, 'x' AS s, DATE '2024-01-02' AS d, "
            "1.5::DOUBLE PRECISION AS f",
            "wait": 10,
        },
    )
    source_id = new_org.viewer.get("/api/v1/data-sources").json()["items"][0]["id"]
    tables = new_org.viewer.get(f"/api/v1/data-sources/{source_id}/schema").json()["tables"]
    t = next(t for t in tables if t["name"] == "t")
    assert {c["name"]: c["type"] for c in t["columns"]} == {
        "i": "integer",
        "s": "string",
        "d": "date",
        "f": "float",
    }


def test_duckdb_file_sources_run_queries(server: LiveServer, new_org) -> None:
    import duckdb

    path = server.settings.data_dir.parent / f"lake-{uuid.uuid4().hex[:6]}.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events AS SELECT range AS id, 'e' || range AS name FROM range(10)")
    source = new_org.admin.post("/api/v1/data-sources", json={"name": "lake", "url": f"duckdb:///{path}"})
    assert source.status_code == 201, source.text
    assert source.json()["kind"] == "duckdb"
    run = new_org.editor.post(
        "/api/v1/runs",
        json={"sql": "SELECT count(*) AS n FROM events", "data_source_id": source.json()["id"], "wait": 10},
    )
    assert run.json()["result"]["rows"] == [{"n": 10}]
