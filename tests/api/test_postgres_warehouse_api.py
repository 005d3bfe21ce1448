"""Organizations on the PostgreSQL warehouse through the native API of a live server.

The server has `warehouse_url` set; one organization asks for the PostgreSQL warehouse, another for
the embedded one, and both load datasets, query them and download results the same way.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from openlytics.client import Client, ValidationError
from openlytics.testing import LiveServer
from tests.conftest import make_settings, postgres_warehouse
from tests.core.datasets_fixtures import WAREHOUSES

pytestmark = pytest.mark.skipif(
    "postgresql" not in WAREHOUSES,
    reason="the PostgreSQL warehouse is not under test",
)


@dataclass
class NewOrg:
    client: httpx.Client
    key: str
    body: dict


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server (SQLite metadata) whose new organizations get the PostgreSQL warehouse."""
    with postgres_warehouse() as url:
        settings, databases = make_settings(
            tmp_path_factory.mktemp("pg-api") / "data", "sqlite", warehouse_url=url
        )
        live = LiveServer(settings).start()
        try:
            yield live
        finally:
            live.stop()
            databases.drop()


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server without a PostgreSQL warehouse URL (whatever OPENLYTICS_TEST_WAREHOUSE says)."""
    settings, databases = make_settings(
        tmp_path_factory.mktemp("embedded") / "data", "sqlite", warehouse="duckdb"
    )
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        databases.drop()


def create_org(server: LiveServer, warehouse: str | None) -> NewOrg:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    body: dict[str, object] = {"name": slug, "admin_email": f"admin@{slug}.test"}
    if warehouse is not None:
        body["warehouse"] = warehouse
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}) as admin:
        created = admin.post("/api/v1/organizations", json=body)
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return NewOrg(client, key, created.json())


@pytest.fixture(scope="module", params=["postgresql", "embedded"])
def org(request: pytest.FixtureRequest, pg_server: LiveServer) -> Iterator[NewOrg]:
    created = create_org(pg_server, request.param)
    yield created
    created.client.close()


def warehouse_source(org: NewOrg) -> dict:
    sources = org.client.get("/api/v1/data-sources").json()["items"]
    return next(s for s in sources if s["kind"] == "warehouse")


def test_the_warehouse_is_the_one_asked_for_and_shows_no_url(
    org: NewOrg, request: pytest.FixtureRequest
) -> None:
    asked = request.node.callspec.params["org"]
    source = warehouse_source(org)
    assert source["options"]["engine"] == ("postgresql" if asked == "postgresql" else "duckdb")
    assert source["url"] is None


def test_the_default_follows_the_configured_warehouse(pg_server: LiveServer) -> None:
    created = create_org(pg_server, None)
    try:
        assert warehouse_source(created)["options"]["engine"] == "postgresql"
    finally:
        created.client.close()


def test_datasets_load_query_and_download(org: NewOrg) -> None:
    client = org.client
    made = client.post("/api/v1/datasets", json={"name": "sales"})
    assert made.status_code == 201, made.text
    dataset = made.json()
    base = f"/api/v1/datasets/{dataset['id']}"
    csv_body = b"id;quarter;sales\n1;Q1;120\n2;Q2;80\n3;Q2;85\n"
    loaded = client.put(
        f"{base}/data", params={"separator": ";"}, content=csv_body, headers={"Content-Type": "text/csv"}
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["dataset"]["columns"] == [
        {"name": "id", "type": "int64"},
        {"name": "quarter", "type": "string"},
        {"name": "sales", "type": "int64"},
    ]
    appended = client.post(f"{base}/rows", json=[{"id": 4, "quarter": "Q4", "sales": 25}])
    assert appended.status_code == 200 and appended.json()["inserted"] == 1, appended.text
    deleted = client.post(
        f"{base}/delete-rows", json={"filters": [{"name": "sales", "op": "<", "value": 30}]}
    )
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1, deleted.text

    rows = client.get(f"{base}/data", params={"format": "json"}).json()["rows"]
    assert [r["id"] for r in rows] == [1, 2, 3]  # insertion order

    structured = httpx.post(
        f"{client.base_url}/serenytics/api/formatted_data/{dataset['uuid']}",
        headers={"X-Api-Key": org.key},
        json={
            "order": "row_by_row",
            "data_processing_pipeline": [
                {
                    "select": ["quarter", {"name": "sales", "agg_function": "sum"}],
                    "where": [{"name": "quarter", "op": "in", "value": '["Q1","Q2"]'}],
                    "order_by": [{"name": "sales", "agg_function": "sum", "direction": "desc"}],
                }
            ],
        },
        timeout=60,
    )
    assert structured.status_code == 200, structured.text
    assert structured.json()["data"] == [["Q2", 165], ["Q1", 120]]

    run = client.post(
        "/api/v1/runs",
        json={
            "sql": "SELECT quarter, sum(sales) AS total FROM sales GROUP BY quarter ORDER BY quarter",
            "wait": 30,
        },
    )
    assert run.status_code == 200, run.text
    result = run.json()["result"]
    assert result["rows"] == [{"quarter": "Q1", "total": 120}, {"quarter": "Q2", "total": 165}]
    data = f"/api/v1/results/{result['id']}/data"
    arrow = ipc.open_stream(client.get(data, params={"format": "arrow"}).content).read_all()
    assert arrow.column_names == ["quarter", "total"] and arrow.column("total").to_pylist() == [120, 165]
    text = client.get(data, params={"format": "csv"}).text
    assert list(csv.reader(io.StringIO(text))) == [["quarter", "total"], ["Q1", "120"], ["Q2", "165"]]


def test_a_dataset_from_arrow_and_the_schema_listing(org: NewOrg) -> None:
    client = org.client
    dataset = client.post("/api/v1/datasets", json={"name": "events"}).json()
    sink = io.BytesIO()
    table = pa.table({"n": pa.array([1, 2], pa.int32()), "label": ["a", "b"]})
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    loaded = client.put(
        f"/api/v1/datasets/{dataset['id']}/data",
        content=sink.getvalue(),
        headers={"Content-Type": "application/vnd.apache.arrow.stream"},
    )
    assert loaded.status_code == 200, loaded.text
    source = warehouse_source(org)
    schema = client.get(f"/api/v1/data-sources/{source['id']}/schema")
    assert schema.status_code == 200, schema.text
    tables = {t["name"]: t for t in schema.json()["tables"]}
    assert [c["name"] for c in tables["events"]["columns"]] == ["n", "label"]


def test_postgresql_needs_a_configured_warehouse(embedded_server: LiveServer) -> None:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    body = {"name": slug, "admin_email": f"admin@{slug}.test"}
    headers = {"Authorization": f"Bearer {embedded_server.admin_key}"}
    with httpx.Client(base_url=embedded_server.url, headers=headers, timeout=60) as admin:
        response = admin.post("/api/v1/organizations", json={**body, "warehouse": "postgresql"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]["field"] == "warehouse"
        assert admin.post("/api/v1/organizations", json={**body, "warehouse": "oracle"}).status_code == 422


def test_the_sdk_chooses_the_warehouse(pg_server: LiveServer, embedded_server: LiveServer) -> None:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    with Client(pg_server.url, pg_server.admin_key) as client:
        created = client.organizations.create(slug, f"admin@{slug}.test", warehouse="embedded")
    with Client(pg_server.url, created.api_key) as org_client:
        engines = [s.options.get("engine") for s in org_client.data_sources.list() if s.kind == "warehouse"]
    assert engines == ["duckdb"]
    with Client(embedded_server.url, embedded_server.admin_key) as client, pytest.raises(ValidationError):
        client.organizations.create(f"{slug}-x", f"admin@{slug}-x.test", warehouse="postgresql")
