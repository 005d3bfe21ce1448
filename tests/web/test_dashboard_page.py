"""The public dashboard page as HTML: self-contained, laid out on the grid, and every text escaped."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from openlytics.render import Column, DashboardView, Position, VisualizationView, WidgetView
from openlytics.web import dashboard_html
from tests.render.samples import chart, sample_dashboard, view

ATTACK = "<script>alert(1)</script>"
BREAKOUT = "</script><script>alert(1)</script><!--"


class Page(HTMLParser):
    """The parts of a page the tests look at: script elements, attributes of elements, text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._script: dict[str, str | None] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)

    def with_class(self, name: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.elements if name in (a.get("class") or "").split()]


def one_widget(widget: WidgetView, name: str = "Board") -> str:
    return dashboard_html(DashboardView(name, (widget,)), bundle_url="/assets/vega.js")


def test_widget_text_is_escaped() -> None:
    html = one_widget(WidgetView(Position(0, 0, 6, 3), text=f"# Hello\n{ATTACK} **bold**"))

    assert ATTACK not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<h1>Hello</h1>" in html and "<strong>bold</strong>" in html


def test_only_web_links_become_links() -> None:
    html = one_widget(
        WidgetView(
            Position(0, 0, 6, 3),
            text="[ok](https://example.org) [bad](javascript:alert(1)) ![i](http://x/i.png)",
        )
    )
    links = [a for tag, a in Page(html).elements if tag == "a"]

    assert [a["href"] for a in links] == ["https://example.org", "http://x/i.png"]
    assert all(a["rel"] == "nofollow noopener noreferrer" for a in links)
    assert not [tag for tag, _ in Page(html).elements if tag == "img"]


def test_names_and_table_cells_are_escaped() -> None:
    columns = (Column("<b>name</b>", "string"),)
    table = VisualizationView("TABLE", f"Table {ATTACK}", {}, columns, ({"<b>name</b>": ATTACK},))
    html = one_widget(WidgetView(Position(0, 0, 6, 4), visualization=table), name=f"Board {ATTACK}")

    assert ATTACK not in html and "<b>name</b>" not in html
    page = Page(html)
    assert ATTACK in "".join(page.text)  # shown as text
    assert "<title>Board &lt;script&gt;alert(1)&lt;/script&gt; · openlytics</title>" in html


def test_chart_data_cannot_break_out_of_its_script_element() -> None:
    rows = ({"day": BREAKOUT, "region": "north", "sales": 1, "profit": "1", "orders": 1},)
    line = VisualizationView(
        "CHART",
        f"Line {BREAKOUT}",
        {"columnMapping": {"day": "x", "sales": "y"}},
        chart("line", {}).columns,
        rows,
    )
    html = one_widget(WidgetView(Position(0, 0, 6, 8), visualization=line))

    assert BREAKOUT not in html
    page = Page(html)
    specs = [text for attrs, text in page.scripts if attrs.get("type") == "application/json"]
    assert len(page.scripts) == 3  # the bundle, the chart's spec, the page's own script
    assert json.loads(specs[0])["data"]["values"][0]["x"] == BREAKOUT


def test_every_widget_has_its_place_on_the_grid() -> None:
    page = Page(dashboard_html(sample_dashboard(), bundle_url="/assets/vega.js"))

    widgets = page.with_class("widget")
    assert [w["data-widget-index"] for w in widgets] == ["0", "1", "2", "3", "4"]
    styles = {w["data-widget-index"]: w["style"] for w in widgets}
    assert styles["0"] == "grid-column: 1 / span 6; grid-row: 1 / span 2;"
    assert styles["2"] == "grid-column: 3 / span 4; grid-row: 3 / span 8;"
    assert styles["4"] == "grid-column: 4 / span 3; grid-row: 11 / span 8;"
    charts = page.with_class("chart")
    assert [c["data-spec"] for c in charts] == ["spec-2", "spec-3"]


def test_widgets_follow_the_grid_order_and_keep_their_index() -> None:
    dashboard = DashboardView(
        "Order",
        (
            WidgetView(Position(3, 4, 3, 2), text="last"),
            WidgetView(Position(0, 0, 3, 2), text="first"),
            WidgetView(Position(3, 0, 3, 2), text="second"),
        ),
    )
    widgets = Page(dashboard_html(dashboard, bundle_url="/b.js")).with_class("widget")
    assert [w["data-widget-index"] for w in widgets] == ["1", "2", "0"]


def test_charts_are_tall_enough_to_draw() -> None:
    widget = WidgetView(Position(0, 0, 3, 2), visualization=chart("line", {"day": "x", "sales": "y"}))
    (element,) = Page(one_widget(widget)).with_class("widget")
    assert element["style"] == "grid-column: 1 / span 3; grid-row: 1 / span 5;"


def test_the_page_loads_nothing_but_the_bundle() -> None:
    page = Page(dashboard_html(sample_dashboard(), bundle_url="/public/assets/vega.js?v=1"))

    sources = [a.get("src") or a.get("href") for _, a in page.elements if a.get("src") or a.get("href")]
    assert sources == ["data:,", "/public/assets/vega.js?v=1"]  # an empty icon, then the bundle


def test_chart_specs_fill_their_widget_without_a_second_title() -> None:
    page = Page(dashboard_html(sample_dashboard(), bundle_url="/b.js"))
    specs = [json.loads(text) for attrs, text in page.scripts if attrs.get("type") == "application/json"]

    assert all("title" not in spec for spec in specs)
    assert [(s["width"], s["height"]) for s in specs] == [("container", "container")] * 2
    assert specs[0]["$schema"].endswith("/vega-lite/v5.json")


def test_pivot_is_drawn_as_a_chart_and_counter_as_text() -> None:
    pivot = view("PIVOT", "Pivot", rows=["region"], vals=["sales"], aggregatorName="Sum")
    counter = view("COUNTER", "Total", counterColName="sales", stringPrefix="$")
    dashboard = DashboardView(
        "Mixed",
        (
            WidgetView(Position(0, 0, 3, 6), visualization=pivot),
            WidgetView(Position(3, 0, 3, 6), visualization=counter),
        ),
    )
    page = Page(dashboard_html(dashboard, bundle_url="/b.js"))

    assert page.with_class("pivot-widget")[0]["data-widget-index"] == "0"
    assert [a.get("class") for a in page.with_class("counter-value")] == ["counter-value"]
    assert "$3" in page.text


def test_a_widget_that_cannot_be_drawn_carries_the_reason() -> None:
    broken = chart("line", {"revenue": "y"})
    (element,) = Page(one_widget(WidgetView(Position(0, 0, 3, 6), visualization=broken))).with_class("widget")

    assert element["data-render-error"] == "columnMapping: the data has no column 'revenue'"
