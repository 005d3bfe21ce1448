"""Visualizations through the native API: a query's list, create, edit, delete, permissions, checks."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def query(new_org) -> dict:
    created = new_org.editor.post(
        "/api/v1/queries", json={"name": "sales", "sql": "SELECT 'north' AS region, 7 AS n, 9 AS target"}
    )
    assert created.status_code == 201, created.text
    ran = new_org.editor.post(f"/api/v1/queries/{created.json()['id']}/run", json={"wait": 30})
    assert ran.status_code == 200, ran.text
    return created.json()


def test_a_query_starts_with_a_table_and_gains_edits_and_loses_visualizations(new_org, query: dict) -> None:
    listing = new_org.viewer.get(f"/api/v1/queries/{query['id']}/visualizations").json()
    assert listing["total"] == 1 and listing["items"][0]["type"] == "TABLE"
    created = new_org.editor.post(
        "/api/v1/visualizations",
        json={
            "query_id": query["id"],
            "type": "counter",
            "options": {"counterColName": "n", "targetColName": "target"},
        },
    )
    assert created.status_code == 201, created.text
    viz = created.json()
    assert viz["type"] == "COUNTER" and viz["name"] == "Counter" and viz["query_id"] == query["id"]
    assert new_org.viewer.get(f"/api/v1/visualizations/{viz['id']}").json() == viz
    edited = new_org.editor.patch(
        f"/api/v1/visualizations/{viz['id']}", json={"name": "Units", "description": "units sold"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "Units" and edited.json()["options"]["counterColName"] == "n"
    items = new_org.viewer.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"]
    assert [v["name"] for v in items] == ["Table", "Units"]
    page = new_org.viewer.get(
        f"/api/v1/queries/{query['id']}/visualizations", params={"per_page": 1, "page": 2}
    )
    assert page.json()["items"][0]["name"] == "Units" and page.json()["total"] == 2
    assert new_org.editor.delete(f"/api/v1/visualizations/{viz['id']}").status_code == 204
    assert new_org.viewer.get(f"/api/v1/visualizations/{viz['id']}").status_code == 404


def test_deleting_a_visualization_removes_the_widgets_showing_it(new_org, query: dict) -> None:
    viz = new_org.editor.post(
        "/api/v1/visualizations", json={"query_id": query["id"], "type": "TABLE"}
    ).json()
    dashboard = new_org.editor.post("/api/v1/dashboards", json={"name": "board"}).json()
    new_org.editor.post(f"/api/v1/dashboards/{dashboard['id']}/widgets", json={"visualization_id": viz["id"]})
    new_org.editor.post(f"/api/v1/dashboards/{dashboard['id']}/widgets", json={"text": "stays"})
    new_org.editor.delete(f"/api/v1/visualizations/{viz['id']}")
    widgets = new_org.viewer.get(f"/api/v1/dashboards/{dashboard['id']}").json()["widgets"]
    assert [w["text"] for w in widgets] == ["stays"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "MAP"}, "type"),
        ({"type": "COUNTER", "options": {"counterColName": "nope"}}, "options.counterColName"),
        ({"type": "CHART", "options": {"globalSeriesType": "donut"}}, "options.globalSeriesType"),
        ({"type": "TABLE", "colour": "red"}, "colour"),
        ({"type": "TABLE", "options": [1]}, "options"),
    ],
)
def test_invalid_visualizations_are_rejected_with_the_field_named(
    new_org, query: dict, body: dict, field: str
) -> None:
    response = new_org.editor.post("/api/v1/visualizations", json={"query_id": query["id"], **body})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and field in error["message"]


def test_missing_query_id_is_named(new_org) -> None:
    response = new_org.editor.post("/api/v1/visualizations", json={"type": "TABLE"})
    assert response.status_code == 422 and "query_id" in response.json()["error"]["message"]


def test_viewers_cannot_change_visualizations(new_org, query: dict) -> None:
    table = new_org.viewer.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
    for response in (
        new_org.viewer.post("/api/v1/visualizations", json={"query_id": query["id"], "type": "TABLE"}),
        new_org.viewer.patch(f"/api/v1/visualizations/{table['id']}", json={"name": "x"}),
        new_org.viewer.delete(f"/api/v1/visualizations/{table['id']}"),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "permission_denied"


def test_another_organization_sees_not_found(new_org, query: dict, admin: httpx.Client) -> None:
    table = new_org.viewer.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
    for response in (
        admin.get(f"/api/v1/queries/{query['id']}/visualizations"),
        admin.get(f"/api/v1/visualizations/{table['id']}"),
        admin.patch(f"/api/v1/visualizations/{table['id']}", json={"name": "x"}),
        admin.delete(f"/api/v1/visualizations/{table['id']}"),
        admin.post("/api/v1/visualizations", json={"query_id": query["id"], "type": "TABLE"}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
