"""The event pipeline end to end into an organization's PostgreSQL warehouse, on a live server.

Always runs (whatever `OPENLYTICS_TEST_WAREHOUSE` says): the server's warehouse is a fresh database on
the local PostgreSQL server. Events posted to a webhook go through the transform, are AUTO_MAPped into
a table of the organization's schema and are read back with SQL through the run API; a failing
transform fills the restream queue and a restream drains it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openlytics.engines.postgres_warehouse import warehouse_name
from openlytics.store.models import Organization
from openlytics.testing import LiveServer
from tests.api.test_pipeline import RAISES_ON_BAD, P, post_events, settle
from tests.conftest import Org, make_settings

ADDS_A_LABEL = "def transform(event):\n    event['label'] = f\"{event['plan'].upper()}-{event['id']}\"\n    return event\n"


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server (SQLite metadata) whose organizations get the PostgreSQL warehouse."""
    data_dir = tmp_path_factory.mktemp("pipeline-pg") / "data"
    settings, databases = make_settings(data_dir, "sqlite", warehouse="postgresql")
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        databases.drop()


@pytest.fixture
def org(pg_server: LiveServer) -> Iterator[Org]:
    """A new organization on `pg_server`, every role played by its admin."""
    slug = f"org-{uuid.uuid4().hex[:10]}"
    headers = {"Authorization": f"Bearer {pg_server.admin_key}"}
    with httpx.Client(base_url=pg_server.url, headers=headers, timeout=60) as superadmin:
        created = superadmin.post(
            "/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"}
        )
    assert created.status_code == 201, created.text
    body = created.json()
    key, admin_id = body["api_key"], body["admin"]["id"]
    with httpx.Client(
        base_url=pg_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as admin:
        yield Org(
            body["organization"]["id"], admin, admin, admin, admin_id, admin_id, admin_id, {"admin": key}
        )


def rest_input(org: Org, name: str) -> dict[str, Any]:
    created = org.admin.post(f"{P}/inputs", json={"name": name, "type": "rest"})
    assert created.status_code == 201, created.text
    return created.json()


def sql(org: Org, statement: str) -> list[dict[str, Any]]:
    """Rows of ad-hoc SQL on the organization's warehouse, through the run API."""
    ran = org.admin.post("/api/v1/runs", json={"sql": statement, "wait": 60})
    assert ran.status_code == 200, ran.text
    rows: list[dict[str, Any]] = ran.json()["result"]["rows"]
    return rows


def schema_tables(server: LiveServer, org: Org) -> dict[str, dict[str, str]]:
    """The tables of the organization's schema in the warehouse database, seen by its administrator:
    {table: {column: data_type}}."""
    with server.core.db.session() as s:
        found = s.get(Organization, org.id)
        assert found is not None
        schema = warehouse_name(found.uuid)
    engine = sa.create_engine(server.core.settings.warehouse_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = :schema"
                ),
                {"schema": schema},
            ).all()
    finally:
        engine.dispose()
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, {})[column] = data_type
    return tables


def test_webhook_events_are_auto_mapped_into_the_organizations_postgresql_schema(
    pg_server: LiveServer, org: Org
) -> None:
    source = next(
        s for s in org.viewer.get("/api/v1/data-sources").json()["items"] if s["kind"] == "warehouse"
    )
    assert source["options"]["engine"] == "postgresql"
    record = rest_input(org, "signups")
    assert org.admin.put(f"{P}/code/modules", json={"main": ADDS_A_LABEL}).status_code == 200
    events = [{"id": i, "plan": "pro" if i % 2 else "free", "score": i / 2} for i in range(3)]
    post_events(pg_server, org, record, events)
    settle(pg_server, org, 3)

    signups = org.viewer.get(f"{P}/event-types/signups").json()
    assert signups["state"] == "MAPPED" and signups["mapping_mode"] == "AUTO_MAP"
    table = signups["table_name"]
    assert table in {t["name"] for t in org.viewer.get(f"{P}/tables").json()["items"]}

    rows = sql(org, f'SELECT id, plan, score, label FROM "{table}" ORDER BY id')
    assert [(r["id"], r["plan"], r["score"], r["label"]) for r in rows] == [
        (0, "free", 0.0, "FREE-0"),
        (1, "pro", 0.5, "PRO-1"),
        (2, "free", 1.0, "FREE-2"),
    ]
    # The table is a real PostgreSQL table in the organization's own schema.
    columns = schema_tables(pg_server, org)[table]
    assert [columns[c] for c in ("id", "plan", "score", "label")] == [
        "bigint",
        "text",
        "double precision",
        "text",
    ]


def test_a_failing_transform_fills_the_restream_queue_and_a_restream_drains_it(
    pg_server: LiveServer, org: Org
) -> None:
    record = rest_input(org, "orders")
    assert org.admin.put(f"{P}/code/modules", json={"main": RAISES_ON_BAD}).status_code == 200
    post_events(pg_server, org, record, [{"n": 1}, {"n": 2, "bad": True}, {"n": 3, "bad": True}])
    settle(pg_server, org, 3)
    assert org.viewer.get(f"{P}/restream").json()["events"] == 2
    table = org.viewer.get(f"{P}/event-types/orders").json()["table_name"]
    assert [r["n"] for r in sql(org, f'SELECT n FROM "{table}" ORDER BY n')] == [1]

    assert org.admin.post(f"{P}/code/reset").status_code == 200
    assert org.admin.post(f"{P}/restream").json() == {"restreamed": 2}
    settle(pg_server, org, 5)
    assert org.viewer.get(f"{P}/restream").json()["events"] == 0
    assert [r["n"] for r in sql(org, f'SELECT n FROM "{table}" ORDER BY n')] == [1, 2, 3]
