"""Saved queries: CRUD, search, tags, fork, archive, typed parameters, query keys."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from openlytics.testing import LiveServer


def test_query_lifecycle_create_edit_fork_archive(new_org) -> None:
    created = new_org.editor.post(
        "/api/v1/queries",
        json={
            "name": "Orders",
            "sql": "SELECT 1 AS n",
            "description": "all orders",
            "tags": ["sales", "daily"],
        },
    )
    assert created.status_code == 201
    q = created.json()
    assert q["version"] == 1 and q["tags"] == ["daily", "sales"] and q["user"]["name"] == "editor"
    edited = new_org.editor.patch(f"/api/v1/queries/{q['id']}", json={"sql": "SELECT 2 AS n"}).json()
    assert edited["version"] == 2 and edited["sql"] == "SELECT 2 AS n"
    fork = new_org.admin.post(f"/api/v1/queries/{q['id']}/fork")
    assert fork.status_code == 201
    assert fork.json()["forked_from_id"] == q["id"] and fork.json()["name"].startswith("Copy of")
    assert new_org.editor.delete(f"/api/v1/queries/{q['id']}").status_code == 204
    assert new_org.viewer.get(f"/api/v1/queries/{q['id']}").json()["is_archived"] is True
    listed = [x["id"] for x in new_org.viewer.get("/api/v1/queries").json()["items"]]
    assert q["id"] not in listed and fork.json()["id"] in listed
    with_archived = new_org.viewer.get("/api/v1/queries", params={"include_archived": True}).json()["items"]
    assert q["id"] in [x["id"] for x in with_archived]


def test_list_searches_filters_by_tag_and_paginates(new_org) -> None:
    for i in range(7):
        new_org.editor.post(
            "/api/v1/queries",
            json={
                "name": f"Report {i}",
                "sql": f"SELECT {i} AS v",
                "tags": ["even" if i % 2 == 0 else "odd"],
            },
        )
    new_org.editor.post("/api/v1/queries", json={"name": "Other", "sql": "SELECT 'needle_in_sql' AS s"})
    page1 = new_org.viewer.get("/api/v1/queries", params={"per_page": 3, "page": 1}).json()
    page3 = new_org.viewer.get("/api/v1/queries", params={"per_page": 3, "page": 3}).json()
    assert page1["total"] == 8 and len(page1["items"]) == 3 and len(page3["items"]) == 2
    everything = {
        x["id"]
        for p in (1, 2, 3)
        for x in new_org.viewer.get("/api/v1/queries", params={"per_page": 3, "page": p}).json()["items"]
    }
    assert len(everything) == 8
    assert new_org.viewer.get("/api/v1/queries", params={"tag": "even"}).json()["total"] == 4
    found = new_org.viewer.get("/api/v1/queries", params={"q": "NEEDLE"}).json()["items"]
    assert [x["name"] for x in found] == ["Other"]
    assert new_org.viewer.get("/api/v1/queries", params={"q": "%"}).json()["total"] == 0
    assert new_org.viewer.get("/api/v1/queries", params={"per_page": 1000}).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "sql": "SELECT 1"}, "name"),
        ({"name": "x"}, "sql"),
        ({"name": "x", "sql": "SELECT {{ nope }}"}, "sql"),
        ({"name": "x", "sql": "SELECT 1", "parameters": [{"name": "a", "type": "wat"}]}, "parameters"),
        ({"name": "x", "sql": "SELECT 1", "data_source_id": 999999}, "data_source_id"),
        ({"name": "x", "sql": "SELECT 1", "colour": "red"}, "colour"),
    ],
)
def test_invalid_queries_are_rejected_with_the_field_named(new_org, body: dict, field: str) -> None:
    response = new_org.editor.post("/api/v1/queries", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["message"]


@pytest.fixture
def param_query(new_org) -> dict:
    response = new_org.editor.post(
        "/api/v1/queries",
        json={
            "name": "params",
            "sql": "SELECT {{ label }} AS label, {{ n }} * 2 AS doubled, {{ day }} AS day, "
            "{{ period.start }} AS start, {{ period.end }} AS stop, "
            "(SELECT count(*) FROM (VALUES ('a'), ('b'), ('c')) v(x) WHERE x IN ({{ letters }})) AS picked",
            "parameters": [
                {"name": "label", "type": "text"},
                {"name": "n", "type": "number", "default": 21},
                {"name": "day", "type": "date"},
                {"name": "period", "type": "date_range"},
                {"name": "letters", "type": "enum", "options": {"values": ["a", "b", "c"], "multi": True}},
            ],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_parameters_are_typed_bound_and_defaulted(new_org, param_query: dict) -> None:
    hostile = "x'); DROP TABLE orders; --"
    run = new_org.viewer.post(
        f"/api/v1/queries/{param_query['id']}/run",
        json={
            "parameters": {
                "label": hostile,
                "day": "2024-02-29",
                "period": {"start": "2024-01-01", "end": "2024-01-31"},
                "letters": ["a", "c"],
            },
            "wait": 10,
        },
    )
    assert run.status_code == 200, run.text
    row = run.json()["result"]["rows"][0]
    assert row == {
        "label": hostile,
        "doubled": 42,
        "day": "2024-02-29",
        "start": "2024-01-01",
        "stop": "2024-01-31",
        "picked": 2,
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (
            {"day": "2024-01-01", "period": {"start": "2024-01-01", "end": "2024-01-02"}, "letters": ["a"]},
            "label",
        ),
        (
            {
                "label": "x",
                "day": "yesterday",
                "period": {"start": "2024-01-01", "end": "2024-01-02"},
                "letters": ["a"],
            },
            "day",
        ),
        (
            {
                "label": "x",
                "n": "many",
                "day": "2024-01-01",
                "period": {"start": "2024-01-01", "end": "2024-01-02"},
                "letters": ["a"],
            },
            "n",
        ),
        (
            {
                "label": "x",
                "day": "2024-01-01",
                "period": {"start": "2024-01-01", "end": "2024-01-02"},
                "letters": ["z"],
            },
            "letters",
        ),
        (
            {
                "label": "x",
                "day": "2024-01-01",
                "period": {"start": "2024-01-01", "end": "2024-01-02"},
                "letters": ["a"],
                "extra": 1,
            },
            "extra",
        ),
    ],
)
def test_missing_ill_typed_and_unknown_parameters_are_clear_errors(
    new_org, param_query: dict, values: dict, field: str
) -> None:
    response = new_org.viewer.post(
        f"/api/v1/queries/{param_query['id']}/run", json={"parameters": values, "wait": 5}
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]


def test_query_keys_reach_only_their_query_and_its_results(server: LiveServer, new_org) -> None:
    mine = new_org.editor.post("/api/v1/queries", json={"name": "shared", "sql": "SELECT 7 AS seven"}).json()
    other = new_org.editor.post(
        "/api/v1/queries", json={"name": "private", "sql": "SELECT 8 AS eight"}
    ).json()
    other_run = new_org.editor.post(f"/api/v1/queries/{other['id']}/run", json={"wait": 10}).json()
    issued = new_org.editor.post(f"/api/v1/queries/{mine['id']}/api-keys", json={})
    assert issued.status_code == 201 and issued.json()["query_id"] == mine["id"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {issued.json()['key']}"}) as qk:
        assert qk.get(f"/api/v1/queries/{mine['id']}").status_code == 200
        run = qk.post(f"/api/v1/queries/{mine['id']}/run", json={"wait": 10})
        assert run.status_code == 200 and run.json()["result"]["rows"] == [{"seven": 7}]
        result_id = run.json()["result"]["id"]
        csv_text = qk.get(f"/api/v1/results/{result_id}/data", params={"format": "csv"}).text
        assert list(csv.reader(io.StringIO(csv_text))) == [["seven"], ["7"]]
        assert qk.get(f"/api/v1/jobs/{run.json()['job']['id']}").status_code == 200
        assert qk.get(f"/api/v1/queries/{other['id']}").status_code == 403
        assert qk.post(f"/api/v1/queries/{other['id']}/run", json={}).status_code == 403
        assert qk.get(f"/api/v1/results/{other_run['result']['id']}").status_code == 403
        assert qk.post("/api/v1/runs", json={"sql": "SELECT 1"}).status_code == 403
        assert qk.get("/api/v1/users").status_code == 403
        assert qk.post("/api/v1/api-keys", json={"name": "escalate"}).status_code == 403
        assert qk.patch(f"/api/v1/queries/{mine['id']}", json={"sql": "SELECT 9"}).status_code == 403
        assert [q["id"] for q in qk.get("/api/v1/queries").json()["items"]] == [mine["id"]]


def test_query_dropdown_parameters_accept_only_values_of_the_source_query(new_org) -> None:
    regions = new_org.editor.post(
        "/api/v1/queries",
        json={"name": "regions", "sql": "SELECT * FROM (VALUES ('north'), ('south')) v(region)"},
    ).json()
    picker = new_org.editor.post(
        "/api/v1/queries",
        json={
            "name": "by region",
            "sql": "SELECT {{ region }} AS picked",
            "parameters": [{"name": "region", "type": "query", "options": {"query_id": regions["id"]}}],
        },
    ).json()
    before = new_org.viewer.post(
        f"/api/v1/queries/{picker['id']}/run", json={"parameters": {"region": "north"}, "wait": 10}
    )
    assert before.status_code == 422 and "no result" in before.json()["error"]["message"]
    new_org.viewer.post(f"/api/v1/queries/{regions['id']}/run", json={"wait": 10})
    ok = new_org.viewer.post(
        f"/api/v1/queries/{picker['id']}/run", json={"parameters": {"region": "south"}, "wait": 10}
    )
    assert ok.status_code == 200 and ok.json()["result"]["rows"] == [{"picked": "south"}]
    bad = new_org.viewer.post(
        f"/api/v1/queries/{picker['id']}/run", json={"parameters": {"region": "east"}, "wait": 10}
    )
    assert bad.status_code == 422 and "region" in bad.json()["error"]["message"]
