"""A dashboard shared through the TONalytica dialect, opened from its public URL in headless chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from openlytics.testing import LiveServer
from tests.conftest import Org
from tests.render.samples import png_size


def build_shared_dashboard(base: str, key: str) -> str:
    """A dashboard with a chart, a table, a counter and text; returns its public URL."""
    with httpx.Client(
        base_url=f"{base}/tonalytica/api", headers={"Authorization": f"Key {key}"}, timeout=60
    ) as api:
        source = api.get("/data_sources").json()[0]["id"]
        api.post(
            "/query_results",
            json={
                "data_source_id": source,
                "max_age": 0,
                "query": "CREATE TABLE visits AS SELECT * FROM (VALUES ('mon', 12), ('tue', 30), ('wed', 21)) t(day, n)",
            },
        )
        query = api.post(
            "/queries",
            json={"data_source_id": source, "name": "Visits", "query": "SELECT day, n FROM visits"},
        ).json()
        api.post(f"/queries/{query['id']}/refresh")
        chart = api.post(
            "/visualizations",
            json={
                "query_id": query["id"],
                "type": "CHART",
                "name": "Per day",
                "options": {"globalSeriesType": "column", "columnMapping": {"day": "x", "n": "y"}},
            },
        ).json()
        counter = api.post(
            "/visualizations",
            json={
                "query_id": query["id"],
                "type": "COUNTER",
                "name": "Monday",
                "options": {"counterColName": "n"},
            },
        ).json()
        dashboard = api.post("/dashboards", json={"name": "Visits board"}).json()
        widgets = [
            {"text": "## Weekly visits", "position": {"col": 0, "row": 0, "sizeX": 6, "sizeY": 2}},
            {"visualization_id": chart["id"], "position": {"col": 0, "row": 2, "sizeX": 3, "sizeY": 8}},
            {
                "visualization_id": query["visualizations"][0]["id"],
                "position": {"col": 3, "row": 2, "sizeX": 3, "sizeY": 8},
            },
            {"visualization_id": counter["id"], "position": {"col": 0, "row": 10, "sizeX": 2, "sizeY": 4}},
        ]
        for w in widgets:
            body = {
                "dashboard_id": dashboard["id"],
                "text": w.get("text", ""),
                "width": 1,
                "options": {"position": w["position"]},
            }
            if "visualization_id" in w:
                body["visualization_id"] = w["visualization_id"]
            assert api.post("/widgets", json=body).status_code == 200
        return api.post(f"/dashboards/{dashboard['id']}/share", json={}).json()["public_url"]


def test_shared_dashboard_renders_in_chromium(
    server: LiveServer, new_org: Org, browser: WebDriver, tmp_path: Path
) -> None:
    public_url = build_shared_dashboard(server.url, new_org.keys["admin"])
    browser.get_log("browser")
    browser.get(public_url)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.body.dataset.rendered") == "true"
    )

    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert browser.find_elements(By.CSS_SELECTOR, "[data-render-error]") == []
    assert "Visits board" in browser.title
    bars = browser.find_elements(By.CSS_SELECTOR, ".chart svg g.mark-rect path")
    assert len(bars) == 3
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "table td")]
    assert cells[:2] == ["mon", "12"]
    assert "Weekly visits" in browser.find_element(By.CSS_SELECTOR, ".widget[data-widget-index='0']").text
    assert "12" in browser.find_element(By.CSS_SELECTOR, ".widget[data-widget-index='3']").text

    shot = tmp_path / "shared-dashboard.png"
    browser.save_screenshot(str(shot))
    assert png_size(shot.read_bytes()) == tuple(
        browser.execute_script("return [window.innerWidth, window.innerHeight]")
    )
