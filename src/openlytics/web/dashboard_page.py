"""The public dashboard page: one self-contained HTML document, charts drawn in the browser by vega-embed.

Tables are real HTML tables and counters big text; charts and pivots are Vega-Lite specs embedded
as JSON and drawn by the vega-embed bundle the server serves at `bundle_url`. Nothing is fetched
from anywhere else. Every piece of text is escaped by the template (autoescape); widget text is
markdown rendered without raw HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import nh3
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

from openlytics.render.counter import CounterValues, counter_values
from openlytics.render.errors import VisualizationOptionsError
from openlytics.render.model import DashboardView, Position, VisualizationView, WidgetView
from openlytics.render.tables import table_columns
from openlytics.render.values import format_cell
from openlytics.render.vega import top_level, view_spec
from openlytics.web.markdown import markdown_html

GRID_COLUMNS = 6
MIN_CHART_ROWS = 5  # a chart shorter than this has no room left for its plot
HTML_TABLE_ROW_LIMIT = 500
HTML_CELL_LIMIT = 500


@dataclass(frozen=True)
class WidgetBlock:
    """What the template needs for one widget; `kind` is text, table, counter, chart or error."""

    index: int
    kind: str
    placement: str
    title: str = ""
    html: Markup = field(default_factory=Markup)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    more_rows: int = 0
    counter: CounterValues | None = None
    spec: dict[str, Any] | None = None
    error: str = ""
    css_class: str = ""


def dashboard_html(view: DashboardView, *, bundle_url: str, title_suffix: str = "openlytics") -> str:
    """The dashboard as a complete HTML5 page that loads only `bundle_url` (Vega, Vega-Lite, vega-embed)."""
    ordered = sorted(enumerate(view.widgets), key=lambda item: (item[1].position.row, item[1].position.col))
    blocks = [_block(index, widget) for index, widget in ordered]
    return _template().render(
        name=view.name,
        title_suffix=title_suffix,
        bundle_url=bundle_url,
        widgets=blocks,
        custom_css=_css(view.custom_css),
        header_html=_header(view.header_html),
    )


def _css(css: str) -> Markup:
    # CSS is not HTML-escaped (`>` is a selector); it only must not end its <style> element.
    return Markup(css.replace("<", "\\3C "))  # noqa: S704 - `<` cannot survive, so no tag can open


def _header(html: str) -> Markup:
    # The owner's header HTML, reduced to harmless markup: no scripts, handlers, styles or frames.
    cleaned = nh3.clean(html, tags=HEADER_TAGS, attributes={"a": {"href", "title"}, "img": {"src", "alt"}})
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


HEADER_TAGS = {
    "a",
    "b",
    "br",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "p",
    "small",
    "span",
    "strong",
    "u",
}


@cache
def _template() -> Template:
    environment = Environment(
        loader=PackageLoader("openlytics.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("dashboard.html.j2")


def _block(index: int, widget: WidgetView) -> WidgetBlock:
    visualization = widget.visualization
    if visualization is None:
        return WidgetBlock(index, "text", _placement(widget.position, 1), html=markdown_html(widget.text))
    kind = visualization.type.upper()
    min_rows = MIN_CHART_ROWS if kind in ("CHART", "PIVOT") else 1
    placement = _placement(widget.position, min_rows)
    try:
        return _visualization_block(index, placement, visualization)
    except VisualizationOptionsError as error:
        return WidgetBlock(index, "error", placement, title=visualization.name, error=str(error))


def _visualization_block(index: int, placement: str, view: VisualizationView) -> WidgetBlock:
    spec = view_spec(view)  # checks the options against the data first
    kind = view.type.upper()
    if kind == "TABLE":
        columns = table_columns(view)
        shown = view.rows[:HTML_TABLE_ROW_LIMIT]
        return WidgetBlock(
            index,
            "table",
            placement,
            title=view.name,
            headers=[c.title for c in columns],
            rows=[[format_cell(row.get(c.name), HTML_CELL_LIMIT) for c in columns] for row in shown],
            more_rows=len(view.rows) - len(shown),
        )
    if kind == "COUNTER":
        return WidgetBlock(index, "counter", placement, title=view.name, counter=counter_values(view))
    css_class = "pivot-widget" if kind == "PIVOT" else ""
    spec = _browser_spec(spec, view)
    return WidgetBlock(index, "chart", placement, title=view.name, spec=spec, css_class=css_class)


def _browser_spec(spec: dict[str, Any], view: VisualizationView) -> dict[str, Any]:
    """The view sized by its container; the widget shows the title, so the chart does not."""
    spec = {key: value for key, value in spec.items() if key != "title"}
    if view.type.upper() == "PIVOT":
        spec.update(width="container", autosize={"type": "fit-x", "contains": "padding"})
    elif "column" not in spec.get("encoding", {}):  # a faceted pie sizes each of its pies itself
        spec.update(width="container", height="container", autosize={"type": "fit", "contains": "padding"})
    return top_level(spec)


def _placement(position: Position, min_rows: int) -> str:
    """The widget's place on the CSS grid: 6 columns, one grid row per dashboard row."""
    col = min(max(position.col, 0), GRID_COLUMNS - 1)
    size_x = min(max(position.size_x, 1), GRID_COLUMNS - col)
    size_y = max(position.size_y, min_rows)
    return f"grid-column: {col + 1} / span {size_x}; grid-row: {max(position.row, 0) + 1} / span {size_y};"
