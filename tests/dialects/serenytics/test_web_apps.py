"""Web apps (our dashboards) through the real serenytics client."""

from __future__ import annotations

import httpx
import pytest

from tests.dialects.serenytics.conftest import Serenytics


def test_get_webapps_and_by_uuid(sty: Serenytics) -> None:
    created = sty.create_webapp("Board", {"widgets": []})
    assert [w.uuid for w in sty.client.get_webapps()] == [created.uuid]
    fetched = sty.client.get_webapp_by_uuid(created.uuid)
    assert fetched.name == "Board" and fetched._config["jsonContent"] == {"widgets": []}
    assert fetched._config["folder_name"] == ""


def test_unknown_webapp_raises_the_client_exception(sty: Serenytics) -> None:
    from serenytics.webapp import UnknownWebApp

    with pytest.raises(UnknownWebApp):
        sty.client.get_webapp_by_uuid("6f1d0c52-61a6-4e4b-8f36-1f1e0a3b9c11")


def test_custom_css_and_header_reach_the_shared_page(sty: Serenytics) -> None:
    webapp = sty.create_webapp("Styled")
    webapp.set_custom_css("body > header h1 { color: rgb(200, 0, 0); }")
    webapp.set_custom_html_header('<h2 class="brand">ACME <script>alert(1)</script></h2>')
    webapp.save()
    stored = sty.client.get_webapp_by_uuid(webapp.uuid)._config["jsonContent"]
    assert stored["headerMode"] == "custom_html" and stored["cssContent"].startswith("body > header")

    dashboard_id = sty.org.admin.get(f"/api/v1/dashboards/{webapp.uuid}").json()["id"]
    shared = sty.org.admin.post(f"/api/v1/dashboards/{dashboard_id}/share").json()
    page = httpx.get(shared["url"]).text
    assert "body > header h1 { color: rgb(200, 0, 0); }" in page
    assert "<h2>ACME </h2>" in page and "alert(1)" not in page


def test_warm_up_cache_runs_the_widgets_queries(sty: Serenytics) -> None:
    admin = sty.org.admin
    query = admin.post("/api/v1/queries", json={"name": "n", "sql": "SELECT 42 AS n"}).json()
    viz = admin.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
    webapp = sty.create_webapp("Warm")
    dashboard_id = admin.get(f"/api/v1/dashboards/{webapp.uuid}").json()["id"]
    assert (
        admin.post(
            f"/api/v1/dashboards/{dashboard_id}/widgets", json={"visualization_id": viz["id"]}
        ).status_code
        == 201
    )
    result = webapp.warm_up_cache()
    assert result["status"] == "ok" and result["refreshed_queries"] == 1
    assert admin.get(f"/api/v1/queries/{query['id']}").json()["latest_result_id"] is not None


def test_bad_key_is_unauthorized_in_the_client(sty: Serenytics) -> None:
    from serenytics.helpers import SerenyticsException

    with pytest.raises(SerenyticsException, match="Unauthorized"):
        sty.client_for("olk_wrong").get_webapps()


def test_list_of_data_sources_and_sharing(sty: Serenytics) -> None:
    from serenytics.helpers import SerenyticsException

    source = sty.client.get_or_create_storage_data_source_by_name("orders")
    source.reload_data([{"id": 1, "amount": 2.5}])
    sty.client.get_or_create_storage_data_source_by_name("unused")
    admin = sty.org.admin
    query = admin.post(
        "/api/v1/queries", json={"name": "o", "sql": "SELECT sum(amount) AS s FROM orders"}
    ).json()
    viz = admin.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
    webapp = sty.create_webapp("Orders board")
    dashboard_id = admin.get(f"/api/v1/dashboards/{webapp.uuid}").json()["id"]
    admin.post(f"/api/v1/dashboards/{dashboard_id}/widgets", json={"visualization_id": viz["id"]})
    assert webapp.get_list_of_data_sources() == [{"name": "orders", "uuid": source.uuid}]

    users = admin.get("/api/v1/users").json()["items"]
    editor = next(u["email"] for u in users if u["email"].startswith("editor@"))
    sty.client.share_webapp_with_user(webapp.uuid, editor)
    with pytest.raises(SerenyticsException):
        sty.client.share_webapp_with_user(webapp.uuid, "nobody@nowhere.test")
