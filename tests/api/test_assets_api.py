"""Objects as code through the native API: export, plan and import (docs/objects-as-code.md)."""

from __future__ import annotations

import json
import uuid

import httpx
import yaml


def board(client: httpx.Client, name: str = "Sales board") -> dict:
    """A query with a chart, and a dashboard showing the chart and a text widget."""
    query = client.post("/api/v1/queries", json={"name": f"{name} revenue", "sql": "SELECT 1 AS n"})
    assert query.status_code == 201, query.text
    chart = client.post(
        "/api/v1/visualizations", json={"query_id": query.json()["id"], "type": "CHART", "name": "by region"}
    )
    assert chart.status_code == 201, chart.text
    dashboard = client.post("/api/v1/dashboards", json={"name": name})
    assert dashboard.status_code == 201, dashboard.text
    widgets = f"/api/v1/dashboards/{dashboard.json()['id']}/widgets"
    assert client.post(widgets, json={"visualization_id": chart.json()["id"], "width": 2}).status_code == 201
    assert client.post(widgets, json={"text": "## Notes"}).status_code == 201
    return {"query": query.json(), "chart": chart.json(), "dashboard": dashboard.json()}


def export(client: httpx.Client, guids: list[str], **options: object) -> httpx.Response:
    return client.post("/api/v1/assets/export", json={"guids": guids, **options})


def test_export_gives_each_document_as_an_object_and_as_text(new_org) -> None:
    made = board(new_org.editor)
    answer = export(new_org.viewer, [made["dashboard"]["uuid"]], associated=True)
    assert answer.status_code == 200, answer.text
    objects = answer.json()["objects"]
    assert [o["kind"] for o in objects] == ["dashboard", "query", "data_source"]
    first = objects[0]
    assert first["guid"] == made["dashboard"]["uuid"] and first["name"] == "Sales board"
    assert yaml.safe_load(first["text"]) == first["document"]
    widgets = first["document"]["dashboard"]["widgets"]
    assert widgets[0]["visualization"]["query"]["name"] == "Sales board revenue"
    assert "fqn" in widgets[0]["visualization"]

    as_json = export(new_org.viewer, [made["query"]["uuid"]], fqn=False, format="JSON").json()["objects"]
    assert json.loads(as_json[0]["text"]) == as_json[0]["document"]
    assert "fqn" not in as_json[0]["document"]["query"]["data_source"]
    # A visualization's guid exports its query.
    by_chart = export(new_org.viewer, [made["chart"]["uuid"]]).json()["objects"]
    assert [(o["kind"], o["guid"]) for o in by_chart] == [("query", made["query"]["uuid"])]


def test_export_all_lists_every_object_of_the_kinds_asked(new_org) -> None:
    made = board(new_org.editor)
    everything = new_org.viewer.get("/api/v1/assets").json()["objects"]
    assert {o["kind"] for o in everything} == {"data_source", "query", "dashboard"}
    assert [o["kind"] for o in everything] == sorted(
        (o["kind"] for o in everything), key=["data_source", "query", "dashboard"].index
    )
    queries = new_org.viewer.get("/api/v1/assets", params={"kind": ["query"], "format": "JSON"}).json()
    assert [o["guid"] for o in queries["objects"]] == [made["query"]["uuid"]]
    two = new_org.viewer.get("/api/v1/assets", params={"kind": ["query", "dashboard"]}).json()["objects"]
    assert [o["kind"] for o in two] == ["query", "dashboard"]
    unknown = new_org.viewer.get("/api/v1/assets", params={"kind": "nonsense"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_plan_says_what_an_import_would_change_and_applies_nothing(new_org) -> None:
    made = board(new_org.editor)
    [exported] = export(new_org.editor, [made["query"]["uuid"]]).json()["objects"]
    document = exported["document"]
    document["query"]["sql"] = "SELECT 2 AS n"
    new_query = {"guid": str(uuid.uuid4()), "query": {"name": "fresh", "sql": "SELECT 3 AS n"}}

    plan = new_org.editor.post("/api/v1/assets/plan", json={"documents": [document, new_query]})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["ok"] is True and body["applied"] is False
    changed, created = body["items"]
    assert changed["action"] == "update" and changed["changes"] == ["sql"] and changed["status"] == "OK"
    assert changed["guid"] == made["query"]["uuid"] and changed["error"] is None
    assert created["action"] == "create" and created["kind"] == "query" and created["name"] == "fresh"
    assert new_org.viewer.get(f"/api/v1/queries/{made['query']['id']}").json()["sql"] == "SELECT 1 AS n"

    applied = new_org.editor.post("/api/v1/assets/import", json={"documents": [document, new_query]}).json()
    assert applied["applied"] is True and applied["ok"] is True
    assert new_org.viewer.get(f"/api/v1/queries/{made['query']['id']}").json()["sql"] == "SELECT 2 AS n"
    assert applied["items"][1]["guid"] == new_query["guid"]

    again = new_org.editor.post("/api/v1/assets/plan", json={"documents": [document, new_query]}).json()
    assert [i["action"] for i in again["items"]] == ["unchanged", "unchanged"]


def test_documents_may_be_given_as_text_with_several_yaml_documents(new_org) -> None:
    made = board(new_org.editor)
    objects = export(new_org.editor, [made["dashboard"]["uuid"]], associated=True).json()["objects"]
    text = "---\n".join(o["text"] for o in objects)
    extra = json.dumps({"query": {"name": "as json", "sql": "SELECT 4 AS n"}})
    answer = new_org.editor.post(
        "/api/v1/assets/import", json={"documents": [text, extra], "create_new": True}
    ).json()
    assert answer["ok"] is True and answer["applied"] is True
    assert [(i["index"], i["source"]) for i in answer["items"]] == [(0, 0), (1, 0), (2, 0), (3, 1)]
    copy = answer["items"][0]
    assert copy["kind"] == "dashboard" and copy["action"] == "create"
    assert copy["guid"] != made["dashboard"]["uuid"]
    assert new_org.viewer.get(f"/api/v1/dashboards/{copy['guid']}").json()["name"] == "Sales board"


def test_failed_documents_are_reported_and_nothing_is_applied(new_org) -> None:
    before = new_org.viewer.get("/api/v1/queries").json()["total"]
    documents = [
        {"guid": str(uuid.uuid4()), "query": {"name": "fine", "sql": "SELECT 1"}},
        {"guid": str(uuid.uuid4()), "query": {"name": "typo", "sql": "SELECT 1", "sqll": "?"}},
        {"guid": str(uuid.uuid4()), "nonsense": {"name": "x"}},
    ]
    answer = new_org.editor.post("/api/v1/assets/import", json={"documents": documents})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ok"] is False and report["applied"] is False
    assert [i["status"] for i in report["items"]] == ["OK", "ERROR", "ERROR"]
    assert report["items"][1]["error"]["code"] == "invalid_input"
    assert "sqll" in report["items"][1]["error"]["message"]
    assert "one kind key" in report["items"][2]["error"]["message"]
    assert new_org.viewer.get("/api/v1/queries").json()["total"] == before

    validated = new_org.editor.post(
        "/api/v1/assets/import", json={"documents": documents[:1], "validate_only": True}
    ).json()
    assert validated["ok"] is True and validated["applied"] is False
    assert new_org.viewer.get("/api/v1/queries").json()["total"] == before

    partial = new_org.editor.post(
        "/api/v1/assets/import", json={"documents": documents, "partial": True}
    ).json()
    assert partial["applied"] is True and partial["ok"] is False
    assert new_org.viewer.get("/api/v1/queries").json()["total"] == before + 1


def test_a_viewer_cannot_import_or_plan(new_org) -> None:
    document = {"query": {"name": "nope", "sql": "SELECT 1"}}
    for path in ("/api/v1/assets/import", "/api/v1/assets/plan"):
        answer = new_org.viewer.post(path, json={"documents": [document]})
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "permission_denied"


def test_another_organization_cannot_export_a_guid(new_org, server, admin) -> None:
    made = board(new_org.editor)
    slug = f"org-{uuid.uuid4().hex[:10]}"
    created = admin.post("/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"})
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {created.json()['api_key']}"}
    ) as other:
        for guid in (made["query"]["uuid"], made["dashboard"]["uuid"], str(uuid.uuid4())):
            answer = export(other, [guid])
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "not_found"


def test_malformed_bodies_answer_422_in_the_native_shape(new_org) -> None:
    for path, body in (
        ("/api/v1/assets/import", {}),
        ("/api/v1/assets/import", {"documents": [1, 2]}),
        ("/api/v1/assets/import", {"documents": [], "unknown": True}),
        ("/api/v1/assets/plan", {"documents": "not a list"}),
        ("/api/v1/assets/export", {"guids": []}),
        ("/api/v1/assets/export", {"guids": ["x"], "format": "XML"}),
        ("/api/v1/assets/import", {"documents": ["guid: [unclosed"]}),
        ("/api/v1/assets/import", {"documents": ["   "]}),
    ):
        answer = new_org.editor.post(path, json=body)
        assert answer.status_code == 422, (path, body, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "invalid_input" and error["message"], (path, body)
    text_error = new_org.editor.post("/api/v1/assets/plan", json={"documents": ["a: 1", "guid: [x"]}).json()
    assert text_error["error"]["details"]["field"] == "documents[1]"
    not_json = new_org.editor.post(
        "/api/v1/assets/import", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["error"]["code"] == "invalid_input"
    bad_guid = export(new_org.editor, ["not-a-guid"])
    assert bad_guid.status_code in (404, 422) and "error" in bad_guid.json()
