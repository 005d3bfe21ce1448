"""`openlytics export`, `plan` and `import`: a round trip onto a fresh server reproduces the objects."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from openlytics.testing import LiveServer
from tests.cli.conftest import Invoke
from tests.conftest import make_settings

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # never connected to: creating a source does not


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second server, empty but for the organizations the tests create."""
    settings, databases = make_settings(tmp_path_factory.mktemp("fresh") / "data", "sqlite")
    try:
        with LiveServer(settings) as live:
            yield live
    finally:
        databases.drop()


def fresh_org(server: LiveServer) -> dict[str, str]:
    """The environment of a CLI call as the admin of a new organization on `server`."""
    slug = f"org-{uuid.uuid4().hex[:10]}"
    created = httpx.post(
        f"{server.url}/api/v1/organizations",
        json={"name": slug, "admin_email": f"admin@{slug}.test"},
        headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    assert created.status_code == 201, created.text
    return {"OPENLYTICS_URL": server.url, "OPENLYTICS_API_KEY": created.json()["api_key"]}


def make_objects(client: httpx.Client) -> None:
    """An external data source with a query, and a warehouse query with a chart on a dashboard."""
    source = client.post("/api/v1/data-sources", json={"name": "Shop database", "url": PG_URL})
    assert source.status_code == 201, source.text
    orders = {"name": "Orders", "sql": "SELECT count(*) FROM orders", "data_source_id": source.json()["id"]}
    assert client.post("/api/v1/queries", json=orders).status_code == 201
    query = client.post(
        "/api/v1/queries", json={"name": "Revenue", "sql": "SELECT 1 AS n", "tags": ["sales"]}
    )
    assert query.status_code == 201, query.text
    chart = client.post("/api/v1/visualizations", json={"query_id": query.json()["id"], "type": "CHART"})
    assert chart.status_code == 201, chart.text
    dashboard = client.post("/api/v1/dashboards", json={"name": "Sales board"}).json()
    widgets = f"/api/v1/dashboards/{dashboard['id']}/widgets"
    assert client.post(widgets, json={"visualization_id": chart.json()["id"], "width": 2}).status_code == 201
    assert client.post(widgets, json={"text": "## Notes"}).status_code == 201


def documents(directory: Path) -> dict[str, dict[str, Any]]:
    """The documents of an exported directory, by file path relative to it."""
    return {
        str(path.relative_to(directory)): yaml.safe_load(path.read_text())
        for path in sorted(directory.rglob("*.yaml"))
    }


def actions(result: Any) -> dict[str, str]:
    """`name (kind)` -> action of a `plan --json` or `import --json` output."""
    report = json.loads(result.stdout)
    return {f"{i['name']} ({i['kind']})": i["action"] for i in report["items"]}


def test_export_plan_import_onto_a_fresh_server_reproduces_the_objects(
    cli: Invoke, new_org: Any, fresh_server: LiveServer, tmp_path: Path
) -> None:
    make_objects(new_org.admin)
    exported = tmp_path / "exported"
    result = cli("export", "--all", "--output", str(exported), role="admin")
    assert result.exit_code == 0, result.output
    first = documents(exported)
    assert set(first) >= {
        "data_source/shop-database.yaml",
        "query/revenue.yaml",
        "query/orders.yaml",
        "dashboard/sales-board.yaml",
    }
    [warehouse_file] = [f for f, d in first.items() if d.get("data_source", {}).get("kind") == "warehouse"]

    target = fresh_org(fresh_server)
    plan = cli("plan", str(exported), "--json", **target)
    assert plan.exit_code == 0, plan.output
    planned = actions(plan)
    warehouse = f"{first[warehouse_file]['data_source']['name']} (data_source)"
    # The warehouse document means the target's own warehouse: never created.
    assert planned.pop(warehouse) in ("update", "unchanged")
    assert set(planned.values()) == {"create"} and len(planned) == len(first) - 1

    table = cli("plan", str(exported), **target)
    assert table.exit_code == 0 and "create" in table.stdout and "query/revenue.yaml" in table.stdout

    imported = cli("import", str(exported), **target)
    assert imported.exit_code == 0, imported.output
    assert "applied" in imported.stdout

    again = cli("plan", str(exported), "--json", **target)
    assert again.exit_code == 0, again.output
    assert set(actions(again).values()) == {"unchanged"}

    round_trip = tmp_path / "round-trip"
    assert cli("export", "--all", "--output", str(round_trip), **target).exit_code == 0
    second = documents(round_trip)
    assert set(second) == set(first)
    # Everything is the same, guids included, but the warehouse: the target's own.
    first_guid, second_guid = first[warehouse_file]["guid"], second[warehouse_file]["guid"]
    assert first_guid != second_guid
    as_first = json.loads(json.dumps(second).replace(second_guid, first_guid))
    assert as_first == first


def test_a_round_trip_keeps_the_guid_of_the_default_visualization(
    new_org: Any, fresh_server: LiveServer
) -> None:
    query = new_org.editor.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1 AS n"}).json()
    [exported] = new_org.editor.post("/api/v1/assets/export", json={"guids": [query["uuid"]]}).json()[
        "objects"
    ]
    target = fresh_org(fresh_server)
    with httpx.Client(
        base_url=target["OPENLYTICS_URL"], headers={"Authorization": f"Bearer {target['OPENLYTICS_API_KEY']}"}
    ) as client:
        report = client.post("/api/v1/assets/import", json={"documents": [exported["document"]]}).json()
        assert report["ok"], report
        [again] = client.post("/api/v1/assets/export", json={"guids": [query["uuid"]]}).json()["objects"]
    assert again["document"]["query"]["visualizations"] == exported["document"]["query"]["visualizations"]


def test_export_to_stdout_and_a_file_in_json_and_yaml(cli: Invoke, new_org: Any, tmp_path: Path) -> None:
    make_objects(new_org.admin)
    dashboards = json.loads(cli("export", "--kind", "dashboard", "--format", "json").stdout)
    assert [d["dashboard"]["name"] for d in dashboards] == ["Sales board"]
    guid = dashboards[0]["guid"]
    associated = cli("export", guid, "--associated", "--no-fqn")
    assert associated.exit_code == 0, associated.output
    docs = list(yaml.safe_load_all(associated.stdout))
    assert [next(k for k in d if k != "guid") for d in docs] == ["dashboard", "query", "data_source"]
    assert "fqn" not in associated.stdout
    file = tmp_path / "board.yaml"
    assert cli("export", guid, "--associated", "--output", str(file)).exit_code == 0
    assert file.read_text() == cli("export", guid, "--associated").stdout
    assert cli("export").exit_code == 1
    missing = cli("export", str(uuid.uuid4()))
    assert missing.exit_code == 1 and "not_found" in missing.output


def test_a_failing_import_exits_non_zero_and_changes_nothing(
    cli: Invoke, new_org: Any, tmp_path: Path
) -> None:
    directory = tmp_path / "docs"
    (directory / "nested").mkdir(parents=True)
    (directory / "good.yaml").write_text(yaml.safe_dump({"query": {"name": "good", "sql": "SELECT 1"}}))
    bad = {"query": {"name": "bad", "sql": "SELECT 1", "sqll": "typo"}}
    (directory / "nested" / "bad.json").write_text(json.dumps(bad))
    (directory / "ignored.txt").write_text("not a document")

    plan = cli("plan", str(directory))
    assert plan.exit_code == 1
    assert "sqll" in plan.stdout and "nested/bad.json" in plan.stdout

    result = cli("import", str(directory))
    assert result.exit_code == 1
    assert "nothing applied" in result.stdout
    assert new_org.viewer.get("/api/v1/queries").json()["total"] == 0

    validated = cli("import", str(directory / "good.yaml"), "--validate")
    assert validated.exit_code == 0 and "nothing applied" in validated.stdout
    assert new_org.viewer.get("/api/v1/queries").json()["total"] == 0

    partial = cli("import", str(directory), "--partial")
    assert partial.exit_code == 1 and "applied" in partial.stdout
    assert [q["name"] for q in new_org.viewer.get("/api/v1/queries").json()["items"]] == ["good"]

    viewer = cli("import", str(directory / "good.yaml"), role="viewer")
    assert viewer.exit_code == 1 and "permission_denied" in viewer.output
    assert cli("plan", str(tmp_path / "missing")).exit_code == 1
