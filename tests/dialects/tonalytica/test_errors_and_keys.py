"""Bad input gets the Redash error shape and changes nothing; query keys reach one query only."""

from __future__ import annotations

import io
from csv import reader

import httpx

from tests.dialects.tonalytica.conftest import Tonalytica


def _query(
    ton: Tonalytica, sql: str = "SELECT region, amount FROM sales ORDER BY id", **extra: object
) -> dict:
    body = {"data_source_id": ton.warehouse_id, "name": "q", "query": sql, **extra}
    response = ton.http.post("/api/queries", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_unknown_ids_are_404_with_a_message(ton: Tonalytica) -> None:
    for path in (
        "/api/queries/999999",
        "/api/dashboards/no-such-slug",
        "/api/jobs/999999",
        "/api/query_results/999999",
        "/api/alerts/999999",
    ):
        response = ton.http.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.json()["message"]


def test_wrong_credentials_are_403(ton: Tonalytica) -> None:
    assert httpx.get(f"{ton.base}/api/queries").status_code == 403
    bad = httpx.get(f"{ton.base}/api/queries", headers={"Authorization": "Key olk_wrong"})
    assert bad.status_code == 403 and bad.json()["message"]


def test_malformed_parameters_are_400_and_run_nothing(ton: Tonalytica) -> None:
    query = _query(
        ton,
        "SELECT * FROM sales WHERE amount > {{ minimum }}",
        options={"parameters": [{"name": "minimum", "title": "Minimum", "type": "number", "value": 50}]},
    )
    assert query["options"]["parameters"][0]["type"] == "number"
    bad = ton.http.post(
        f"/api/queries/{query['id']}/results", json={"parameters": {"minimum": "fifty"}, "max_age": 0}
    )
    assert bad.status_code == 400 and "minimum" in bad.json()["message"]
    unknown = ton.http.post(
        f"/api/queries/{query['id']}/results", json={"parameters": {"nope": 1}, "max_age": 0}
    )
    assert unknown.status_code == 400
    assert ton.http.get("/api/queries/" + str(query["id"])).json()["latest_query_data_id"] is None
    good = ton.http.post(
        f"/api/queries/{query['id']}/results", json={"parameters": {"minimum": 100}, "max_age": 0}
    )
    job = good.json()["job"]
    rows = ton.http.get(f"/api/query_results/{job['query_result_id']}").json()["query_result"]["data"]["rows"]
    assert [r["region"] for r in rows] == ["north"]


def test_date_range_parameters(ton: Tonalytica) -> None:
    query = _query(
        ton,
        "SELECT count(*) AS n FROM sales WHERE sold_on BETWEEN {{ period.start }} AND {{ period.end }}",
        options={"parameters": [{"name": "period", "title": "Period", "type": "date-range", "value": None}]},
    )
    assert query["options"]["parameters"][0]["type"] == "date-range"
    response = ton.http.post(
        f"/api/queries/{query['id']}/results",
        json={"parameters": {"period": {"start": "2026-01-01", "end": "2026-01-31"}}, "max_age": 0},
    )
    result_id = response.json()["job"]["query_result_id"]
    assert ton.http.get(f"/api/query_results/{result_id}").json()["query_result"]["data"]["rows"] == [
        {"n": 2}
    ]


def test_cached_results_with_max_age(ton: Tonalytica) -> None:
    query = _query(ton, "SELECT count(*) AS n FROM sales")
    first = ton.http.post(f"/api/queries/{query['id']}/results", json={"max_age": 0}).json()
    cached = ton.http.post(f"/api/queries/{query['id']}/results", json={"max_age": 3600}).json()
    assert cached["query_result"]["id"] == first["job"]["query_result_id"]
    assert cached["query_result"]["data"]["rows"] == [{"n": 4}]


def test_a_widget_on_an_archived_dashboard_is_refused(ton: Tonalytica) -> None:
    dashboard = ton.http.post("/api/dashboards", json={"name": "Old"}).json()
    widget = ton.http.post(
        "/api/widgets", json={"dashboard_id": dashboard["id"], "text": "kept", "width": 1, "options": {}}
    ).json()
    assert ton.http.delete(f"/api/dashboards/{dashboard['id']}").json()["is_archived"] is True
    refused = ton.http.post(
        "/api/widgets", json={"dashboard_id": dashboard["id"], "text": "new", "width": 1, "options": {}}
    )
    assert refused.status_code == 400 and "archived" in refused.json()["message"]
    assert ton.http.post(f"/api/widgets/{widget['id']}", json={"text": "changed"}).status_code == 400
    widgets = ton.http.get(f"/api/dashboards/{dashboard['id']}").json()["widgets"]
    assert [w["text"] for w in widgets] == ["kept"]
    assert ton.http.get("/api/dashboards").json()["count"] == 0


def test_invalid_widget_and_dashboard_input(ton: Tonalytica) -> None:
    dashboard = ton.http.post("/api/dashboards", json={"name": "D"}).json()
    for body in (
        {"dashboard_id": dashboard["id"], "text": "", "width": 1},
        {"dashboard_id": dashboard["id"], "visualization_id": 999999, "text": "", "width": 1},
        {"dashboard_id": dashboard["id"], "text": "x", "options": {"position": {"col": 5, "sizeX": 3}}},
        {"dashboard_id": "abc", "text": "x"},
    ):
        response = ton.http.post("/api/widgets", json=body)
        assert response.status_code in (400, 404), (body, response.text)
        assert response.json()["message"]
    assert ton.http.post("/api/dashboards", json={"name": ""}).status_code == 400
    assert ton.http.post("/api/dashboards", content=b"{not json").status_code == 400
    assert ton.http.get(f"/api/dashboards/{dashboard['id']}").json()["widgets"] == []


def test_json_body_without_content_type_is_accepted(ton: Tonalytica) -> None:
    # refresh_query.py posts a JSON string with no Content-Type at all.
    query = _query(ton, "SELECT 1 AS one")
    response = httpx.post(
        f"{ton.base}/api/queries/{query['id']}/results",
        content=b'{"max_age": 0}',
        headers={"Authorization": f"Key {ton.org.keys['admin']}"},
    )
    assert response.status_code == 200 and response.json()["job"]["status"] == 3


def test_query_key_reaches_only_its_query_and_results(ton: Tonalytica) -> None:
    query = _query(ton, "SELECT region FROM sales ORDER BY id")
    other = _query(ton, "SELECT 2")
    key = query["api_key"]
    assert key and ton.http.get(f"/api/queries/{other['id']}").json()["api_key"] != key
    run = ton.http.post(f"/api/queries/{query['id']}/results", json={"max_age": 0}).json()["job"]
    result_id = run["query_result_id"]

    with ton.raw(key) as scoped:
        assert scoped.get("/api/session").status_code == 200
        assert scoped.get(f"/api/queries/{query['id']}").status_code == 200
        assert scoped.get(f"/api/jobs/{run['id']}").status_code == 200
        assert scoped.post(f"/api/queries/{query['id']}/results", json={"max_age": 0}).status_code == 200
        assert scoped.get(f"/api/queries/{other['id']}").status_code == 403
        assert scoped.post(f"/api/queries/{other['id']}/results", json={}).status_code == 403
        assert scoped.get("/api/dashboards").status_code == 403
        assert (
            scoped.post(
                "/api/query_results", json={"query": "SELECT 1", "data_source_id": ton.warehouse_id}
            ).status_code
            == 403
        )
        assert scoped.post(f"/api/queries/{query['id']}", json={"name": "hijack"}).status_code == 403

    # Shared download links work without any header.
    csv = httpx.get(f"{ton.base}/api/query_results/{result_id}.csv", params={"api_key": key})
    assert csv.status_code == 200
    assert [row[0] for row in reader(io.StringIO(csv.text))] == ["region", "north", "south", "north", "west"]
    as_json = httpx.get(
        f"{ton.base}/api/queries/{query['id']}/results/{result_id}.json", params={"api_key": key}
    )
    assert as_json.json()["query_result"]["data"]["rows"][0] == {"region": "north"}


def test_nothing_crosses_organizations(ton: Tonalytica, server) -> None:
    query = _query(ton, "SELECT 1")
    with httpx.Client(base_url=ton.base, headers={"Authorization": f"Key {server.admin_key}"}) as outsider:
        assert outsider.get(f"/api/queries/{query['id']}").status_code == 404
        assert all(q["id"] != query["id"] for q in outsider.get("/api/queries").json()["results"])


def test_viewers_cannot_edit(ton: Tonalytica) -> None:
    query = _query(ton, "SELECT 1")
    with ton.raw(ton.org.keys["viewer"]) as viewer:
        assert viewer.get(f"/api/queries/{query['id']}").status_code == 200
        assert viewer.post(f"/api/queries/{query['id']}", json={"name": "x"}).status_code == 403
        assert viewer.post("/api/dashboards", json={"name": "x"}).status_code == 403
        assert viewer.post("/api/query_results", json={"query": "SELECT 1", "max_age": 0}).status_code == 403
    assert ton.http.get(f"/api/queries/{query['id']}").json()["name"] == "q"


def test_public_link_reaches_one_dashboard_and_can_be_revoked(ton: Tonalytica) -> None:
    dashboard = ton.http.post("/api/dashboards", json={"name": "Shared"}).json()
    ton.http.post(
        "/api/widgets", json={"dashboard_id": dashboard["id"], "text": "hello", "width": 1, "options": {}}
    )
    shared = ton.http.post(f"/api/dashboards/{dashboard['id']}/share", json={}).json()
    token = shared["api_key"]
    assert httpx.get(shared["public_url"]).status_code == 200
    public = httpx.get(f"{ton.base}/api/dashboards/public/{token}").json()
    assert public["name"] == "Shared" and public["widgets"][0]["text"] == "hello"
    # The token is not an API key.
    assert httpx.get(f"{ton.base}/api/queries", params={"api_key": token}).status_code == 403
    ton.http.delete(f"/api/dashboards/{dashboard['id']}/share")
    assert httpx.get(shared["public_url"]).status_code == 404
