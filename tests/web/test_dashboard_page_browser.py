"""The public dashboard page in a real headless chromium: charts drawn, layout kept, no script injected."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from openlytics.render import DashboardView, Position, WidgetView, vega_embed_bundle
from openlytics.web import dashboard_html
from tests.render.samples import ROWS, chart, png_size, sample_dashboard, view
from tests.web.conftest import StaticSite

INJECTED = '<img src=x onerror="window.injected=true"><script>window.injected=true</script>'
BREAKOUT = "</script><script>window.injected=true</script>"


def hostile_dashboard() -> DashboardView:
    """The sample dashboard plus a pivot, and text, cells and chart data that try to run script."""
    base = sample_dashboard()
    rows = (*ROWS[:3], {**ROWS[3], "region": INJECTED, "day": BREAKOUT})
    return DashboardView(
        name=base.name,
        widgets=(
            *base.widgets,
            WidgetView(
                Position(col=0, row=18, size_x=3, size_y=8),
                visualization=view(
                    "PIVOT", "Pivot", rows=["region"], cols=[], vals=["sales"], aggregatorName="Sum"
                ),
            ),
            WidgetView(Position(col=3, row=18, size_x=3, size_y=3), text=f"Careful: {INJECTED}"),
            WidgetView(
                Position(col=3, row=21, size_x=3, size_y=6),
                visualization=view("TABLE", "Hostile rows", data=rows),
            ),
            WidgetView(
                Position(col=0, row=26, size_x=6, size_y=6),
                visualization=view(
                    "CHART",
                    "Hostile chart",
                    data=rows,
                    columnMapping={"day": "x", "sales": "y"},
                    xAxis={"type": "category"},
                ),
            ),
        ),
    )


@pytest.fixture
def rendered_page(browser: WebDriver, static_site: StaticSite) -> WebDriver:
    """The hostile dashboard opened in the browser, once every chart has been drawn."""
    static_site.add("vega-bundle.js", vega_embed_bundle())
    url = static_site.add("index.html", dashboard_html(hostile_dashboard(), bundle_url="vega-bundle.js"))
    browser.get_log("browser")  # forget what earlier tests logged
    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.body.dataset.rendered") == "true"
    )
    return browser


def widget(browser: WebDriver, index: int) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f".widget[data-widget-index='{index}']")


def test_every_chart_is_drawn_without_errors(rendered_page: WebDriver) -> None:
    severe = [e for e in rendered_page.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    assert rendered_page.find_elements(By.CSS_SELECTOR, "[data-render-error]") == []

    line = widget(rendered_page, 2)
    assert (
        len(line.find_elements(By.CSS_SELECTOR, ".chart svg g.role-mark.mark-line path")) == 2
    )  # one per region
    bars = widget(rendered_page, 3).find_elements(By.CSS_SELECTOR, ".chart svg g.role-mark.mark-rect path")
    assert len(bars) == len(ROWS)  # ten days x two regions
    pivot_cells = widget(rendered_page, 5).find_elements(
        By.CSS_SELECTOR, ".chart svg g.role-mark.mark-text text"
    )
    assert len(pivot_cells) == 2
    hostile_bars = widget(rendered_page, 8).find_elements(
        By.CSS_SELECTOR, ".chart svg g.role-mark.mark-rect path"
    )
    assert len(hostile_bars) == 4


def test_tables_and_counters_are_html(rendered_page: WebDriver) -> None:
    rows = widget(rendered_page, 4).find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(ROWS)
    assert [td.text for td in rows[0].find_elements(By.TAG_NAME, "td")] == [
        "2024-01-01",
        "north",
        "3",
        "1.25",
        "6",
    ]
    assert widget(rendered_page, 1).find_element(By.CLASS_NAME, "counter-value").text == "2024-01-01"


def test_nothing_the_data_says_runs_as_script(rendered_page: WebDriver) -> None:
    assert rendered_page.execute_script("return window.injected") is None
    assert INJECTED in widget(rendered_page, 6).text
    cells = [
        td.text for td in widget(rendered_page, 7).find_elements(By.CSS_SELECTOR, "tbody tr:last-child td")
    ]
    assert cells[:2] == [BREAKOUT, INJECTED]


def test_widgets_keep_their_place_on_the_grid(rendered_page: WebDriver) -> None:
    boxes = {
        i: rendered_page.execute_script(
            "return arguments[0].getBoundingClientRect().toJSON()", widget(rendered_page, i)
        )
        for i in (0, 1, 2, 3, 4)
    }
    assert boxes[1]["top"] == boxes[2]["top"] and boxes[3]["top"] == boxes[4]["top"]
    assert boxes[1]["left"] == boxes[3]["left"] == boxes[0]["left"]
    assert boxes[2]["right"] == boxes[0]["right"] == boxes[4]["right"]
    # Two of six columns against four of six, with the gap between columns.
    assert boxes[2]["width"] == pytest.approx(2 * boxes[1]["width"] + 12, abs=2)
    assert boxes[2]["height"] == pytest.approx(8 * 50 + 7 * 12, abs=1)
    chart_box = rendered_page.execute_script(
        "return arguments[0].querySelector('.chart svg').getBoundingClientRect().toJSON()",
        widget(rendered_page, 2),
    )
    assert chart_box["width"] > 0.8 * boxes[2]["width"] and chart_box["height"] > 0.6 * boxes[2]["height"]


def test_a_screenshot_shows_the_page(rendered_page: WebDriver, tmp_path: Path) -> None:
    path = tmp_path / "dashboard.png"
    assert rendered_page.save_screenshot(str(path))

    viewport = rendered_page.execute_script(
        "return [window.innerWidth * devicePixelRatio, window.innerHeight * devicePixelRatio]"
    )
    assert list(png_size(path.read_bytes())) == viewport


def test_a_chart_that_fails_to_draw_is_marked_and_logged(browser: WebDriver, static_site: StaticSite) -> None:
    # A spec Vega-Lite rejects: the page must still finish and say which widget failed.
    static_site.add("vega-bundle.js", vega_embed_bundle())
    page = dashboard_html(
        DashboardView("One", (WidgetView(Position(0, 0, 6, 6), visualization=chart("line", {"day": "x"})),)),
        bundle_url="vega-bundle.js",
    ).replace('"type": "line"', '"type": "no-such-mark"')
    assert "no-such-mark" in page
    browser.get_log("browser")
    browser.get(static_site.add("index.html", page))
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.body.dataset.rendered") == "true"
    )

    error = widget(browser, 0).get_attribute("data-render-error")
    assert error  # whatever Vega-Lite said
    assert any("widget 0" in e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE")
