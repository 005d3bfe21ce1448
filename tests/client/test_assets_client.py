"""`client.assets`: objects as code through the SDK, sync and async (docs/objects-as-code.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
import yaml

from openlytics.client import (
    AsyncClient,
    Client,
    ExportedObject,
    ImportReport,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tests.client.conftest import SdkOrg


def board(client: Client) -> dict[str, str]:
    """A query with a chart on a dashboard beside a text widget; their guids."""
    query = client.queries.create("revenue", "SELECT 1 AS n", tags=["sales"])
    chart = client.visualizations.create(query.id, "CHART", name="by region")
    dashboard = client.dashboards.create("Sales board")
    client.dashboards.add_widget(dashboard.id, chart.id, width=2)
    client.dashboards.add_widget(dashboard.id, text="## Notes")
    return {"query": query.uuid, "chart": chart.uuid, "dashboard": dashboard.uuid}


def test_export_returns_documents_and_their_text(org: SdkOrg) -> None:
    guids = board(org.editor)
    objects = org.viewer.assets.export([guids["dashboard"]], associated=True, format="json")
    assert all(isinstance(o, ExportedObject) for o in objects)
    assert [o.kind for o in objects] == ["dashboard", "query", "data_source"]
    assert objects[0].guid == guids["dashboard"] and objects[0].name == "Sales board"
    assert json.loads(objects[0].text) == objects[0].document
    [query] = org.viewer.assets.export([guids["query"]], fqn=False)
    assert yaml.safe_load(query.text) == query.document
    assert "fqn" not in query.document["query"]["data_source"]

    everything = org.viewer.assets.export_all()
    assert {o.kind for o in everything} == {"data_source", "query", "dashboard"}
    assert [o.guid for o in org.viewer.assets.export_all(["dashboard"])] == [guids["dashboard"]]
    with pytest.raises(NotFoundError):
        org.viewer.assets.export([str(uuid.uuid4())])


def test_plan_then_import_from_objects_text_and_files(org: SdkOrg, tmp_path: Path) -> None:
    guids = board(org.editor)
    [exported] = org.editor.assets.export([guids["query"]])
    changed = exported.text.replace("SELECT 1 AS n", "SELECT 2 AS n")
    file = tmp_path / "docs" / "new.yaml"
    file.parent.mkdir()
    file.write_text(
        yaml.safe_dump({"guid": str(uuid.uuid4()), "query": {"name": "from a file", "sql": "SELECT 5"}})
    )
    documents = [changed, {"query": {"name": "from an object", "sql": "SELECT 3"}}, file.parent]

    plan = org.editor.assets.plan(documents)
    assert isinstance(plan, ImportReport) and plan.ok and not plan.applied
    assert [(i.action, i.source) for i in plan.items] == [("update", 0), ("create", 1), ("create", 2)]
    assert plan.items[0].changes == ["sql"] and plan.items[0].guid == guids["query"]
    assert {q.sql for q in org.editor.queries.list()} == {"SELECT 1 AS n"}  # nothing applied

    report = org.editor.assets.import_(documents)
    assert report.ok and report.applied and not report.failed
    assert {q.name for q in org.editor.queries.list()} == {"revenue", "from an object", "from a file"}
    assert all(i.action == "unchanged" for i in org.editor.assets.plan(documents[:1]).items)
    # A path given as a string is read too.
    assert org.editor.assets.plan([str(file)]).items[0].action == "unchanged"


def test_failures_are_reported_not_raised_and_viewers_cannot_import(org: SdkOrg) -> None:
    documents = [
        {"query": {"name": "fine", "sql": "SELECT 1"}},
        {"query": {"name": "typo", "sql": "SELECT 1", "sqll": "?"}},
    ]
    report = org.editor.assets.import_(documents)
    assert not report.ok and not report.applied
    [failed] = report.failed
    assert failed.index == 1 and failed.error is not None and failed.error.code == "invalid_input"
    assert "sqll" in failed.error.message
    assert list(org.editor.queries.list()) == []

    validated = org.editor.assets.import_(documents[:1], validate_only=True)
    assert validated.ok and not validated.applied and list(org.editor.queries.list()) == []
    partial = org.editor.assets.import_(documents, partial=True)
    assert partial.applied and [q.name for q in org.editor.queries.list()] == ["fine"]

    with pytest.raises(PermissionDeniedError):
        org.viewer.assets.import_(documents[:1])
    with pytest.raises(ValidationError):
        org.editor.assets.plan(["guid: [unclosed\n"])


def test_async_client_exports_plans_and_imports(org: SdkOrg) -> None:
    guids = board(org.editor)

    async def main() -> None:
        async with AsyncClient(org.url, org.keys["editor"]) as client:
            objects = await client.assets.export([guids["dashboard"]], associated=True)
            assert [o.kind for o in objects] == ["dashboard", "query", "data_source"]
            assert len(await client.assets.export_all(["query"])) == 1
            texts = [o.text for o in objects]
            plan = await client.assets.plan(texts, create_new=True)
            assert [i.action for i in plan.items][:2] == ["create", "create"] and not plan.applied
            report = await client.assets.import_(texts, create_new=True)
            assert report.ok and report.applied
            assert report.items[0].guid != guids["dashboard"]

    asyncio.run(main())
    assert len(list(org.editor.dashboards.list())) == 2
