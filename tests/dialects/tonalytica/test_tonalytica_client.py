"""Every required method of the real tonalytica-client (and its optional ones) against a live server."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.dialects.tonalytica.conftest import Tonalytica, load_tonalytica_client, unique


def test_constructor_checks_the_key_and_tolerates_a_trailing_slash(ton: Tonalytica) -> None:
    module = load_tonalytica_client()
    module.TonalyticaAPIClient(ton.org.keys["viewer"], host=ton.base + "/")  # .../tonalytica//api/session
    with pytest.raises(Exception, match=r"\[GET\] /api/session \(403\)"):
        module.TonalyticaAPIClient("olk_not_a_key", host=ton.base)


def test_create_query_runs_it_and_lists_it(ton: Tonalytica) -> None:
    name = unique("regions")
    response = ton.admin.create_query(
        ton.warehouse_id, name, "SELECT region, sum(amount) AS total FROM sales GROUP BY 1"
    )
    assert response.status_code == 200
    created = response.json()
    assert created["name"] == name and created["data_source_id"] == ton.warehouse_id
    assert [v["type"] for v in created["visualizations"]] == ["TABLE"]
    assert created["user"]["id"] == ton.org.admin_user_id and created["tags"] == []

    listed = ton.admin.queries(page=1, page_size=25)
    assert listed["count"] == 1 and listed["page"] == 1 and listed["page_size"] == 25
    assert listed["results"][0]["id"] == created["id"]
    assert ton.admin.get_query(created["id"])["query"].startswith("SELECT region")


def test_paginate_walks_every_page(ton: Tonalytica) -> None:
    for n in range(5):
        ton.admin.create_query(ton.warehouse_id, f"q{n}", f"SELECT {n}", with_results=False)
    everything = ton.admin.paginate(ton.admin.queries, page_size=2)
    assert sorted(q["name"] for q in everything) == [f"q{n}" for n in range(5)]


def test_generate_query_results_returns_the_rows_at_once(ton: Tonalytica) -> None:
    response = ton.admin.generate_query_results(
        ton.warehouse_id, "SELECT id, region FROM sales ORDER BY id", return_results=True
    )
    result = response.json()["query_result"]
    assert result["data"]["rows"][0] == {"id": 1, "region": "north"}
    assert [c["name"] for c in result["data"]["columns"]] == ["id", "region"]
    assert [c["type"] for c in result["data"]["columns"]] == ["integer", "string"]


def test_query_and_wait_result_polls_the_job(ton: Tonalytica) -> None:
    response = ton.admin.query_and_wait_result(
        ton.warehouse_id, "SELECT count(*) AS n FROM sales", timeout=30
    )
    assert response.json()["query_result"]["data"]["rows"] == [{"n": 4}]


def test_a_failing_query_reports_the_engine_error_in_the_job(ton: Tonalytica) -> None:
    posted = ton.admin.generate_query_results(ton.warehouse_id, "SELECT * FROM no_such_table").json()
    job = ton.admin.get(f"jobs/{posted['job']['id']}").json()["job"]
    assert job["status"] == 4 and "no_such_table" in job["error"]


def test_refresh_update_and_duplicate_query(ton: Tonalytica) -> None:
    query = ton.admin.create_query(
        ton.warehouse_id, "total", "SELECT sum(amount) AS s FROM sales", with_results=False
    ).json()
    job = ton.admin.refresh_query(query["id"]).json()["job"]
    assert job["status"] == 3
    assert ton.admin.get_query(query["id"])["latest_query_data_id"] == job["query_result_id"]

    ton.admin.update_query(query["id"], {"name": "renamed", "tags": ["finance"], "description": "d"})
    updated = ton.admin.get_query(query["id"])
    assert (updated["name"], updated["tags"], updated["description"]) == ("renamed", ["finance"], "d")
    assert updated["version"] == 2

    copy = ton.admin.duplicate_query(query["id"], new_name="copy")
    assert copy["name"] == "copy" and copy["id"] != query["id"]
    assert copy["visualizations"][0]["options"] == updated["visualizations"][0]["options"]


def test_scheduled_queries_are_those_with_a_schedule(ton: Tonalytica) -> None:
    plain = ton.admin.create_query(ton.warehouse_id, "plain", "SELECT 1", with_results=False).json()
    timed = ton.admin.create_query(ton.warehouse_id, "timed", "SELECT 2", with_results=False).json()
    schedule = {"interval": 86400, "time": "06:30", "day_of_week": None, "until": "2030-01-31"}
    ton.admin.update_query(timed["id"], {"schedule": schedule})
    scheduled = list(ton.admin.scheduled_queries())
    assert [q["id"] for q in scheduled] == [timed["id"]]
    assert scheduled[0]["schedule"] == schedule
    assert ton.admin.get_query(plain["id"])["schedule"] is None
    ton.admin.update_query(timed["id"], {"schedule": None})
    assert list(ton.admin.scheduled_queries()) == []


def test_favorites_of_queries_and_dashboards(ton: Tonalytica) -> None:
    query = ton.admin.create_query(ton.warehouse_id, "fav", "SELECT 1", with_results=False).json()
    ton.admin.create_query(ton.warehouse_id, "other", "SELECT 2", with_results=False)
    dashboard = ton.admin.create_dashboard("Starred").json()
    ton.admin.create_favorite("query", query["id"])
    ton.admin.create_favorite("dashboard", dashboard["id"])
    assert [q["id"] for q in ton.admin.queries(only_favorites=True)["results"]] == [query["id"]]
    assert [d["id"] for d in ton.admin.dashboards(only_favorites=True)["results"]] == [dashboard["id"]]
    # Stars are per user: the editor has none.
    editor = ton.client_for(ton.org.keys["editor"])
    assert editor.queries(only_favorites=True)["count"] == 0


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("line", {}),
        ("column", {"group_by": "region"}),
        ("area", {}),
        ("pie", {}),
        ("scatter", {}),
        ("bubble", {"size_column": "amount"}),
        ("box", {}),
    ],
)
def test_create_chart_visualizations(ton: Tonalytica, kind: str, extra: dict[str, str]) -> None:
    query = ton.admin.create_query(ton.warehouse_id, kind, "SELECT region, sold_on, amount FROM sales").json()
    ton.admin.refresh_query(query["id"])
    response = ton.admin.create_visualization(
        query["id"], kind, f"{kind} chart", x_axis="sold_on", y_axis=[{"name": "amount"}], **extra
    )
    viz = response.json()
    assert viz["type"] == "CHART" and viz["options"]["globalSeriesType"] == kind
    assert [v["id"] for v in ton.admin.get_query(query["id"])["visualizations"]][-1] == viz["id"]


def test_table_and_pivot_visualizations_and_updates(ton: Tonalytica) -> None:
    query = ton.admin.create_query(ton.warehouse_id, "t", "SELECT region, amount FROM sales").json()
    table = ton.admin.create_visualization(
        query["id"], "table", "Nice table", columns=[{"name": "region", "type": "string"}]
    ).json()
    assert table["type"] == "TABLE" and table["options"]["columns"][0]["title"] == "region"
    pivot = ton.admin.create_visualization(
        query["id"],
        "pivot",
        "By region",
        custom_options={"rows": ["region"], "vals": ["amount"], "aggregatorName": "Sum"},
    ).json()
    assert pivot["type"] == "PIVOT"
    ton.admin.update_visualization(pivot["id"], {"name": "Renamed pivot"})
    names = [v["name"] for v in ton.admin.get_query(query["id"])["visualizations"]]
    assert names == ["Table", "Nice table", "Renamed pivot"]


def test_a_visualization_that_does_not_fit_its_query_is_refused(ton: Tonalytica) -> None:
    query = ton.admin.create_query(ton.warehouse_id, "t", "SELECT region, amount FROM sales").json()
    ton.admin.refresh_query(query["id"])
    with pytest.raises(Exception, match=r"\(400\)"):
        ton.admin.create_visualization(query["id"], "line", "bad", x_axis="nope", y_axis=[{"name": "amount"}])
    response = ton.http.post(
        "/api/visualizations",
        json={
            "query_id": query["id"],
            "type": "CHART",
            "name": "bad",
            "options": {"columnMapping": {"nope": "x"}},
        },
    )
    assert response.status_code == 400 and "columnMapping" in response.json()["message"]
    assert len(ton.admin.get_query(query["id"])["visualizations"]) == 1


def test_dashboards_widgets_and_publishing(ton: Tonalytica) -> None:
    query = ton.admin.create_query(
        ton.warehouse_id, "by region", "SELECT region, sum(amount) AS total FROM sales GROUP BY 1 ORDER BY 1"
    ).json()
    ton.admin.refresh_query(query["id"])
    chart = ton.admin.create_visualization(
        query["id"], "column", "Totals", x_axis="region", y_axis=[{"name": "total"}]
    ).json()
    created = ton.admin.create_dashboard("Sales overview").json()
    assert created["slug"] == "sales-overview" and created["is_draft"] is True and created["widgets"] == []

    # add_widget computes positions from what is already on the dashboard.
    ton.admin.add_widget(created["id"], text="# Sales")
    ton.admin.add_widget(created["id"], vs_id=chart["id"])
    ton.admin.add_widget(created["id"], vs_id=query["visualizations"][0]["id"], full_width=True)
    dashboard = ton.admin.get_dashboard(created["id"])
    positions = [w["options"]["position"] for w in dashboard["widgets"]]
    assert positions[0] == {"col": 0, "row": 0, "sizeX": 3, "sizeY": 8}
    assert positions[1] == {"col": 3, "row": 0, "sizeX": 3, "sizeY": 8}
    assert positions[2]["sizeX"] == 6
    text_widget = dashboard["widgets"][0]
    assert text_widget["text"] == "# Sales" and "visualization" not in text_widget
    assert dashboard["widgets"][1]["visualization"]["query"]["id"] == query["id"]
    assert ton.admin.dashboard("sales-overview")["id"] == created["id"]

    ton.admin.update_dashboard(created["id"], {"tags": ["ignored"]})  # tonalytica-client sends {}
    assert ton.admin.get_dashboard(created["id"])["tags"] == []
    ton.redash.update_dashboard(created["id"], {"tags": ["sales"]})
    assert ton.admin.dashboards()["results"][0]["tags"] == ["sales"]

    public_url = ton.admin.publish_dashboard(created["id"])
    assert ton.admin.get_dashboard(created["id"])["is_draft"] is False
    page = httpx.get(public_url)
    assert page.status_code == 200 and "Sales overview" in page.text
    assert httpx.get(public_url + ".png").content[:8] == b"\x89PNG\r\n\x1a\n"
    assert httpx.get(public_url + ".pdf").content[:4] == b"%PDF"


def test_duplicate_dashboard_in_tonalytica_client_fails_as_its_code_does(ton: Tonalytica) -> None:
    # Quirk Q5: the client indexes a Response like a dict after the server created the copy.
    original = ton.admin.create_dashboard("Original").json()
    ton.redash.update_dashboard(original["id"], {"tags": ["t"]})
    with pytest.raises(TypeError):
        ton.admin.duplicate_dashboard("original")
    assert {d["name"] for d in ton.admin.dashboards()["results"]} == {"Original", "Copy of: Original"}


def test_alerts_create_list_get_update(ton: Tonalytica) -> None:
    query = ton.admin.create_query(ton.warehouse_id, "n", "SELECT count(*) AS n FROM sales").json()
    alert = ton.admin.create_alert("too many", {"column": "n", "op": ">", "value": 3}, query["id"])
    assert alert["state"] == "unknown" and alert["query"]["id"] == query["id"]
    assert [a["id"] for a in ton.admin.alerts()] == [alert["id"]]
    ton.admin.update_alert(alert["id"], rearm=600)
    fetched = ton.admin.get_alert(alert["id"])
    assert fetched["rearm"] == 600 and fetched["name"] == "too many"
    ton.admin.refresh_query(query["id"])
    deadline = time.monotonic() + 10  # alerts are checked just after the run finishes
    while ton.admin.get_alert(alert["id"])["state"] != "triggered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ton.admin.get_alert(alert["id"])["state"] == "triggered"


def test_users_list_and_disabled_filter(ton: Tonalytica) -> None:
    users = ton.admin.users()
    assert users["count"] == 3 and {u["email"].split("@")[0] for u in users["results"]} == {
        "admin",
        "editor",
        "viewer",
    }
    assert ton.admin.users(only_disabled=True)["count"] == 0
    ton.redash.disable_user(ton.org.viewer_user_id)
    disabled = ton.admin.users(only_disabled=True)["results"]
    assert [u["id"] for u in disabled] == [ton.org.viewer_user_id] and disabled[0]["is_disabled"] is True


def test_data_sources(ton: Tonalytica) -> None:
    sources = ton.admin.get_data_sources()
    assert sources[0]["id"] == ton.warehouse_id and sources[0]["type"] == "warehouse"
    assert ton.admin.get_data_source(ton.warehouse_id)["name"] == sources[0]["name"]
    schema = ton.http.get(f"/api/data_sources/{ton.warehouse_id}/schema").json()["schema"]
    sales = next(t for t in schema if t["name"] == "sales")
    assert [c["name"] for c in sales["columns"]] == ["id", "region", "amount", "sold_on"]


def test_widgets_positions_and_credentials_helpers(ton: Tonalytica) -> None:
    assert ton.admin.test_credentials() is True
    dashboard = ton.admin.create_dashboard("Grid").json()
    assert ton.admin.calculate_widget_position(dashboard["id"], False) == {
        "col": 0,
        "row": 0,
        "sizeX": 3,
        "sizeY": 8,
    }
    ton.admin.create_widget(
        dashboard["id"], None, "first", {"position": {"col": 0, "row": 0, "sizeX": 3, "sizeY": 8}}
    )
    assert ton.admin.calculate_widget_position(dashboard["id"], False)["col"] == 3
    assert ton.admin.calculate_widget_position(dashboard["id"], True) == {
        "col": 0,
        "row": 0,
        "sizeX": 6,
        "sizeY": 8,
    }
