"""Datasets rebuilt from a source query over HTTP (a real PostgreSQL source), row updates, pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openlytics.client import Client
from openlytics.testing import LiveServer
from tests.conftest import POSTGRES_URL, Org


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pg() -> Iterator[tuple[sa.Engine, str]]:
    """A PostgreSQL table of three sales (dropped at the end if still there)."""
    name = unique("sales")
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"CREATE TABLE {name} (id integer primary key, region text, amount numeric(10,2))")
        )
        conn.execute(
            sa.text(f"INSERT INTO {name} VALUES (1, 'north', 10.50), (2, 'south', 20.25), (3, 'east', 1)")
        )
    yield engine, name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


def execute(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql))


def data(client: httpx.Client, dataset_id: int, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/datasets/{dataset_id}/data", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


def rebuild(client: httpx.Client, dataset_id: int, method: str) -> httpx.Response:
    return client.post(f"/api/v1/datasets/{dataset_id}/rebuild", json={"method": method})


def rebuilt(client: httpx.Client, dataset_id: int, method: str) -> dict[str, Any]:
    response = rebuild(client, dataset_id, method)
    assert response.status_code == 200, response.text
    outcome: dict[str, Any] = response.json()
    assert outcome["rebuilt"] is True and outcome["method"] == method
    return outcome


@pytest.mark.postgres
def test_every_rebuild_method_over_a_postgres_source(new_org: Org, pg: tuple[sa.Engine, str]) -> None:
    engine, table = pg
    source = new_org.admin.post("/api/v1/data-sources", json={"name": unique("pg"), "url": POSTGRES_URL})
    assert source.status_code == 201, source.text
    query = new_org.editor.post(
        "/api/v1/queries",
        json={
            "name": "sales",
            "sql": f"SELECT * FROM {table} ORDER BY id",
            "data_source_id": source.json()["id"],
        },
    ).json()
    created = new_org.editor.post(
        "/api/v1/datasets",
        json={"name": unique("sales"), "primary_key": ["id"], "source_query_id": query["id"]},
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert (dataset["source_query_id"], dataset["refreshable"], dataset["last_rebuilt_at"]) == (
        query["id"],
        True,
        None,
    )
    ds = dataset["id"]

    first = rebuilt(new_org.editor, ds, "reload")
    assert (first["rows_read"], first["inserted"], first["row_count"]) == (3, 3, 3)
    assert first["dataset"]["last_rebuilt_at"] is not None and first["dataset"]["version"] == 1
    types = {c["name"]: c["type"] for c in first["dataset"]["columns"]}
    assert types == {"id": "int32", "region": "string", "amount": "float64"}
    assert data(new_org.viewer, ds) == [
        {"id": 1, "region": "north", "amount": 10.5},
        {"id": 2, "region": "south", "amount": 20.25},
        {"id": 3, "region": "east", "amount": 1.0},
    ]

    execute(engine, f"UPDATE {table} SET amount = 11 WHERE id = 1")
    execute(engine, f"INSERT INTO {table} VALUES (4, 'west', 4)")
    update = rebuilt(new_org.editor, ds, "update")
    assert (update["updated"], update["inserted"], update["row_count"]) == (3, 0, 3)  # keys 1-3 came again
    assert [(r["id"], r["amount"]) for r in data(new_org.viewer, ds)] == [(1, 11.0), (2, 20.25), (3, 1.0)]

    execute(engine, f"UPDATE {table} SET region = 'North' WHERE id = 1")
    upsert = rebuilt(new_org.editor, ds, "updateappend")
    assert (upsert["updated"], upsert["inserted"], upsert["row_count"]) == (3, 1, 4)
    assert sorted((r["id"], r["region"]) for r in data(new_org.viewer, ds)) == [
        (1, "North"),
        (2, "south"),
        (3, "east"),
        (4, "west"),
    ]

    appended = rebuilt(new_org.editor, ds, "append")
    assert (appended["inserted"], appended["row_count"], appended["dataset"]["version"]) == (4, 8, 1)

    execute(engine, f"DELETE FROM {table} WHERE id > 2")
    reloaded = rebuilt(new_org.editor, ds, "reload")
    assert (reloaded["row_count"], reloaded["dataset"]["version"]) == (2, 2)
    assert {c["name"]: c["type"] for c in reloaded["dataset"]["columns"]} == types

    execute(engine, f"ALTER TABLE {table} ALTER COLUMN amount TYPE text USING amount::text || ' EUR'")
    execute(engine, f"ALTER TABLE {table} ADD COLUMN note text DEFAULT 'n'")
    recreated = rebuilt(new_org.editor, ds, "recreate")
    assert recreated["dataset"]["version"] == 3
    assert {c["name"]: c["type"] for c in recreated["dataset"]["columns"]} == {
        "id": "int32",
        "region": "string",
        "amount": "string",
        "note": "string",
    }
    assert data(new_org.viewer, ds)[0] == {"id": 1, "region": "North", "amount": "11.00 EUR", "note": "n"}
    versions = new_org.viewer.get(f"/api/v1/datasets/{ds}/versions").json()["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]

    # The source query fails: every method leaves the dataset exactly as it was.
    before, rows_before = new_org.viewer.get(f"/api/v1/datasets/{ds}").json(), data(new_org.viewer, ds)
    execute(engine, f"DROP TABLE {table}")
    for method in ("reload", "recreate", "update", "updateappend", "append"):
        failed = rebuild(new_org.editor, ds, method)
        assert failed.status_code == 400, failed.text
        assert failed.json()["error"]["code"] == "query_failed" and table in failed.text
    assert new_org.viewer.get(f"/api/v1/datasets/{ds}").json() == before
    assert data(new_org.viewer, ds) == rows_before

    unknown = rebuild(new_org.editor, ds, "refresh")
    assert unknown.status_code == 422 and "reload, recreate, update, updateappend, append" in unknown.text
    assert rebuild(new_org.viewer, ds, "reload").status_code == 403


def test_custom_tables_are_not_rebuilt_and_source_queries_stay_in_their_organization(
    new_org: Org, admin: httpx.Client
) -> None:
    custom = new_org.editor.post("/api/v1/datasets", json={"name": unique("custom")}).json()
    assert custom["refreshable"] is False and custom["source_query_id"] is None
    outcome = rebuild(new_org.editor, custom["id"], "reload")
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["rebuilt"] is False and "custom table" in outcome.json()["message"]
    assert outcome.json()["dataset"]["last_rebuilt_at"] is None

    theirs = admin.post("/api/v1/queries", json={"name": "theirs", "sql": "SELECT 1 AS one"}).json()
    assert (
        new_org.editor.post(
            "/api/v1/datasets", json={"name": unique("x"), "source_query_id": theirs["id"]}
        ).status_code
        == 404
    )
    assert (
        new_org.editor.patch(
            f"/api/v1/datasets/{custom['id']}", json={"source_query_id": theirs["id"]}
        ).status_code
        == 404
    )
    mine = new_org.editor.post("/api/v1/queries", json={"name": "mine", "sql": "SELECT 1 AS one"}).json()
    linked = new_org.editor.patch(f"/api/v1/datasets/{custom['id']}", json={"source_query_id": mine["id"]})
    assert linked.status_code == 200 and linked.json()["refreshable"] is True
    # Another organization neither sees the dataset nor may rebuild it.
    assert rebuild(admin, custom["id"], "reload").status_code == 404
    assert rebuilt(new_org.editor, custom["id"], "reload")["row_count"] == 1
    cleared = new_org.editor.patch(f"/api/v1/datasets/{custom['id']}", json={"source_query_id": None})
    assert cleared.json()["source_query_id"] is None and cleared.json()["refreshable"] is False


def test_update_rows_in_place_and_read_pages(new_org: Org) -> None:
    ds = new_org.editor.post(
        "/api/v1/datasets",
        json={
            "name": unique("people"),
            "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}],
        },
    ).json()["id"]
    names = ["ann", "bob", "bob", "cat", "dan"]
    rows = [{"id": i, "name": n} for i, n in enumerate(names)]
    assert new_org.editor.post(f"/api/v1/datasets/{ds}/rows", json=rows).status_code == 200

    patched = new_org.editor.patch(
        f"/api/v1/datasets/{ds}/rows",
        json={
            "filters": [{"name": "name", "op": "==", "value": "bob"}],
            "values": {"name": "rob"},
            "first_only": True,
        },
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["updated"], patched.json()["row_count"]) == (1, 5)
    assert [r["name"] for r in data(new_org.viewer, ds)] == ["ann", "rob", "bob", "cat", "dan"]

    everyone = new_org.editor.patch(
        f"/api/v1/datasets/{ds}/rows",
        json={"filters": [{"name": "id", "op": ">=", "value": 3}], "values": {"name": "x'); --"}},
    )
    assert everyone.json()["updated"] == 2
    before = data(new_org.viewer, ds)
    for body in (
        {"filters": [{"name": "nope", "op": "==", "value": 1}], "values": {"name": "z"}},
        {"filters": [], "values": {"nope": "z"}},
        {"filters": [], "values": {"id": "not a number"}},
    ):
        refused = new_org.editor.patch(f"/api/v1/datasets/{ds}/rows", json=body)
        assert refused.status_code == 422, refused.text
        assert ("nope" if "nope" in str(body) else "id") in refused.json()["error"]["message"]
    assert (
        new_org.viewer.patch(
            f"/api/v1/datasets/{ds}/rows", json={"filters": [], "values": {"name": "v"}}
        ).status_code
        == 403
    )
    assert data(new_org.viewer, ds) == before

    assert [r["id"] for r in data(new_org.viewer, ds, limit=2, offset=0)] == [0, 1]
    assert [r["id"] for r in data(new_org.viewer, ds, limit=2, offset=2)] == [2, 3]
    assert [r["id"] for r in data(new_org.viewer, ds, limit=2, offset=4)] == [4]
    assert data(new_org.viewer, ds, offset=5) == []


def test_a_dataset_rebuild_schedule_rebuilds_when_triggered(new_org: Org) -> None:
    pushed = new_org.editor.post(
        "/api/v1/datasets", json={"name": unique("pushed"), "columns": [{"name": "n", "type": "int"}]}
    ).json()
    new_org.editor.post(f"/api/v1/datasets/{pushed['id']}/rows", json=[{"n": 1}, {"n": 2}])
    query = new_org.editor.post(
        "/api/v1/queries",
        json={"name": "doubled", "sql": f'SELECT n, n * 2 AS twice FROM "{pushed["name"]}"'},
    ).json()
    derived = new_org.editor.post(
        "/api/v1/datasets", json={"name": unique("derived"), "source_query_id": query["id"]}
    ).json()
    schedule = new_org.editor.post(
        "/api/v1/schedules",
        json={
            "kind": "dataset_rebuild",
            "target_id": derived["id"],
            "cron": "0 6 * * *",
            "payload": {"method": "append"},
        },
    )
    assert schedule.status_code == 201, schedule.text
    run = new_org.editor.post(f"/api/v1/schedules/{schedule.json()['id']}/trigger")
    assert run.status_code == 200, run.text
    assert run.json()["manual"] is True and not run.json().get("error")
    after = new_org.viewer.get(f"/api/v1/datasets/{derived['id']}").json()
    assert after["row_count"] == 2 and after["last_rebuilt_at"] is not None
    assert data(new_org.viewer, derived["id"]) == [{"n": 1, "twice": 2}, {"n": 2, "twice": 4}]
    new_org.editor.post(f"/api/v1/schedules/{schedule.json()['id']}/trigger")
    assert new_org.viewer.get(f"/api/v1/datasets/{derived['id']}").json()["row_count"] == 4  # appended


def test_sdk_rebuilds_and_updates_rows(server: LiveServer, new_org: Org) -> None:
    with Client(server.url, api_key=new_org.keys["editor"]) as client:
        base = client.datasets.create(unique("base"), {"k": "int", "v": "string"}, primary_key="k")
        client.datasets.append(base, [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}])
        query = client.queries.create(name="copy", sql=f'SELECT * FROM "{base.name}"')
        copy = client.datasets.create(unique("copy"), source_query_id=query.id, primary_key="k")
        assert copy.refreshable and copy.source_query_id == query.id
        outcome = client.datasets.rebuild(copy)
        assert outcome.rebuilt and outcome.inserted == 2 and outcome.dataset.last_rebuilt_at is not None
        changed = client.datasets.update_rows(base, [("k", "==", 2)], {"v": "B"})
        assert (changed.updated, changed.row_count) == (1, 2)
        assert client.datasets.rebuild(copy, method="update").updated == 2
        assert client.datasets.read_arrow(copy, limit=1, offset=1).to_pylist() == [{"k": 2, "v": "B"}]
        cleared = client.datasets.update(copy, clear_source_query=True)
        assert not cleared.refreshable
        assert client.datasets.rebuild(copy).rebuilt is False
