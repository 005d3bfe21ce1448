"""A dashboard as a multi-page PDF document: cover page, orientation, one widget per page, footer.

Pages, in order: the cover, the filter page, the dashboard (or one page per visualization), then
the continuation pages of tables that did not fit. The organization's wordmark, when asked for,
heads the first page. vl-convert draws each page as its own one-page PDF, sized to its content;
pypdf then centres each drawing, scaled to fit, on a fixed A4 page and joins the pages into one
document.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation

from openlytics.render.dashboard import (
    CONFIG,
    GUTTER,
    INDEPENDENT,
    PADDING,
    ROW_PX,
    dashboard_spec,
    widget_spec,
)
from openlytics.render.errors import VisualizationOptionsError
from openlytics.render.image import DASHBOARD_WIDTH, render_pdf
from openlytics.render.model import DashboardView, WidgetView
from openlytics.render.tables import text_grid
from openlytics.render.text import message_spec
from openlytics.render.vega import top_level, view_spec

A4_POINTS = (842.0, 595.0)  # long side, short side
MARGIN = 24.0
FOOTER_PX = 28
WIDGET_ROWS = 10  # a widget on a page of its own is drawn this many grid rows high
HEADER_PX = 44
HEADER_COLOR = "#1f3b5c"
FILTER_COLUMNS = ["Visualization", "Filter", "Value"]
NO_FILTERS = "No filters applied"
EN_DASH = "\u2013"


@dataclass(frozen=True)
class DocumentOptions:
    """How a dashboard is laid out as a document."""

    landscape: bool = True
    cover_page: bool = False
    one_widget_per_page: bool = False
    page_numbers: bool = False
    footer_text: str = ""
    logo: bool = False  # the organization's name as a wordmark heading the first page
    filter_page: bool = False  # a page of each visualization's parameters and their values
    truncate_tables: bool = True  # False: every row of a table that does not fit, on pages of its own
    visualizations: frozenset[str] | None = None  # the keys of the widgets to draw; None: all of them

    @property
    def page_size(self) -> tuple[float, float]:
        """The page's width and height in points (A4)."""
        long, short = A4_POINTS
        return (long, short) if self.landscape else (short, long)

    @property
    def table_rows_per_page(self) -> int:
        """How many rows of a table a continuation page holds."""
        return 25 if self.landscape else 45


def dashboard_document(view: DashboardView, options: DocumentOptions | None = None) -> bytes:
    """The dashboard as a PDF: cover, filter page, the dashboard or one widget a page, table rows."""
    options = options or DocumentOptions()
    view = _chosen(view, options.visualizations)
    width = DASHBOARD_WIDTH if options.landscape else round(DASHBOARD_WIDTH * A4_POINTS[1] / A4_POINTS[0])
    bodies = [_cover_spec(view.name, width)] if options.cover_page else []
    if options.filter_page:
        bodies.append(_filter_page_spec(view, width))
    charts = [w for w in view.widgets if w.visualization is not None]
    if options.one_widget_per_page and charts:
        bodies += [_widget_page_spec(view.name, w, width) for w in charts]
    else:
        bodies.append(dashboard_spec(view, width=width))
    if not options.truncate_tables:
        for widget in charts:
            height = WIDGET_ROWS * ROW_PX if options.one_widget_per_page else _cell_height(widget)
            bodies += _continuation_specs(view.name, widget, width, height, options.table_rows_per_page)
    if options.logo and view.organization.strip():
        bodies[0] = _with_header(bodies[0], view.organization.strip(), width)
    writer = PdfWriter()
    for number, body in enumerate(bodies, start=1):
        footer = _footer_text(options, number, len(bodies))
        drawing = render_pdf(_with_footer(body, footer, width) if footer else body)
        writer.add_page(_placed_on_page(drawing, options.page_size))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _chosen(view: DashboardView, keys: frozenset[str] | None) -> DashboardView:
    """The dashboard with only the visualizations whose keys are chosen (text goes too), or all."""
    if keys is None:
        return view
    widgets = tuple(w for w in view.widgets if w.visualization is not None and w.key in keys)
    return replace(view, widgets=widgets)


def _cover_spec(name: str, width: int) -> dict[str, Any]:
    height = round(width * A4_POINTS[1] / A4_POINTS[0])
    spec = {
        "width": width - 2 * PADDING,
        "height": height,
        "padding": PADDING,
        "view": {"stroke": None},
        "data": {"values": [{"text": name}]},
        "mark": {"type": "text", "fontSize": 36, "fontWeight": "bold", "limit": width - 4 * PADDING},
        "encoding": {"x": {"value": width / 2}, "y": {"value": height / 2}, "text": {"field": "text"}},
    }
    return top_level(spec)


def _widget_page_spec(name: str, widget: WidgetView, width: int) -> dict[str, Any]:
    return _page_spec(name, widget_spec(widget, width - 2 * PADDING, WIDGET_ROWS * ROW_PX), width)


def _page_spec(name: str, body: dict[str, Any], width: int) -> dict[str, Any]:
    title = {"text": name, "fontSize": 16, "limit": width - 2 * PADDING, "offset": 12}
    return top_level({"title": title, "padding": PADDING, "vconcat": [body], **INDEPENDENT}, CONFIG)


def _filter_page_spec(view: DashboardView, width: int) -> dict[str, Any]:
    """Each visualization's parameters with the values used, one row each, or "No filters applied"."""
    inner = width - 2 * PADDING
    entries = [
        (w.visualization.name, parameter, value)
        for w in view.widgets
        if w.visualization is not None
        for parameter, value in w.visualization.parameters
    ]
    if not entries:
        return _page_spec(
            view.name, message_spec(NO_FILTERS, title="Filters", width=inner, height=120), width
        )
    cells = [
        {"row": index, "column": column, "text": text}
        for index, entry in enumerate(entries)
        for column, text in zip(FILTER_COLUMNS, entry, strict=True)
    ]
    grid = text_grid(cells, FILTER_COLUMNS, title="Filters", note=None, width=inner)
    return _page_spec(view.name, grid, width)


def _cell_height(widget: WidgetView) -> int:
    """The height of the widget's cell on the dashboard page (as the layout draws it)."""
    return max(widget.position.size_y, 1) * ROW_PX - GUTTER


def _rows_shown(widget: WidgetView, height: int) -> int:
    """How many rows of a table the widget draws in a cell `height` pixels high (0 if none or not drawn)."""
    cells = widget_spec(widget, DASHBOARD_WIDTH, height).get("data", {}).get("values", [])
    return len({cell["row"] for cell in cells if "row" in cell})


def _continuation_specs(
    name: str, widget: WidgetView, width: int, height: int, per_page: int
) -> Iterator[dict[str, Any]]:
    """Pages of `per_page` rows with every row of a TABLE whose cell showed only some."""
    visualization = widget.visualization
    if visualization is None or visualization.kind != "TABLE":
        return
    total = len(visualization.rows)
    if not 0 < _rows_shown(widget, height) < total:
        return
    for start in range(0, total, per_page):
        end = min(start + per_page, total)
        part = replace(
            visualization,
            name=f"{visualization.name} (rows {start + 1:,}{EN_DASH}{end:,} of {total:,})",
            rows=visualization.rows[start:end],
        )
        try:
            body = view_spec(part, width=width - 2 * PADDING)
        except VisualizationOptionsError:
            return  # the dashboard page already says why it cannot be drawn
        yield _page_spec(name, body, width)


def _with_header(spec: dict[str, Any], organization: str, width: int) -> dict[str, Any]:
    """The page under a band with the organization's name as a wordmark.

    A vertical stack gets the band as its first row and its title as the second (a title would
    sit above the band); anything else is stacked under the band.
    """
    inner = width - 2 * PADDING
    band = {
        "width": inner,
        "height": HEADER_PX,
        "view": {"stroke": None},
        "data": {"values": [{"text": organization}]},
        "layer": [
            {
                "mark": {"type": "rect", "color": HEADER_COLOR},
                "encoding": {
                    "x": {"value": 0},
                    "x2": {"value": inner},
                    "y": {"value": 0},
                    "y2": {"value": HEADER_PX},
                },
            },
            {
                "mark": {
                    "type": "text",
                    "color": "white",
                    "fontSize": 20,
                    "fontWeight": "bold",
                    "align": "left",
                    "baseline": "middle",
                    "limit": inner - 24,
                },
                "encoding": {
                    "x": {"value": 12},
                    "y": {"value": HEADER_PX / 2},
                    "text": {"field": "text"},
                },
            },
        ],
    }
    if "vconcat" in spec:
        rest = {k: v for k, v in spec.items() if k != "title"}
        rows = [band, *([_title_row(spec["title"], inner)] if "title" in spec else []), *spec["vconcat"]]
        return {**rest, "vconcat": rows}
    body = {k: v for k, v in spec.items() if k not in ("$schema", "background", "config", "padding")}
    return top_level({"padding": PADDING, "vconcat": [band, body], **INDEPENDENT}, spec.get("config"))


def _title_row(title: Any, width: int) -> dict[str, Any]:
    """A concatenation's title drawn as a row of text, left-aligned."""
    title = title if isinstance(title, dict) else {"text": title}
    size = int(title.get("fontSize", 16))
    height = size + int(title.get("offset", 0)) + 8
    return {
        "width": width,
        "height": height,
        "view": {"stroke": None},
        "data": {"values": [{"text": title["text"]}]},
        "mark": {
            "type": "text",
            "fontSize": size,
            "fontWeight": "bold",
            "align": "left",
            "baseline": "middle",
            "limit": width,
        },
        "encoding": {"x": {"value": 0}, "y": {"value": height / 2}, "text": {"field": "text"}},
    }


def _footer_text(options: DocumentOptions, number: int, count: int) -> str:
    parts = [options.footer_text.strip()] if options.footer_text.strip() else []
    if options.page_numbers:
        parts.append(f"Page {number} of {count}")
    return "   ·   ".join(parts)


def _with_footer(spec: dict[str, Any], text: str, width: int) -> dict[str, Any]:
    """The page's drawing above a line of footer text.

    A page that is already a vertical stack gets the footer as its last row: another level of
    nesting could pass the SVG-to-PDF converter's depth limit on a busy dashboard.
    """
    footer = {
        "width": width - 2 * PADDING,
        "height": FOOTER_PX,
        "view": {"stroke": None},
        "data": {"values": [{"text": text}]},
        "mark": {"type": "text", "fontSize": 11, "color": "#555", "limit": width - 2 * PADDING},
        "encoding": {
            "x": {"value": (width - 2 * PADDING) / 2},
            "y": {"value": FOOTER_PX / 2},
            "text": {"field": "text"},
        },
    }
    if "vconcat" in spec:
        return {**spec, "vconcat": [*spec["vconcat"], footer]}
    body = {k: v for k, v in spec.items() if k not in ("$schema", "background", "config", "padding")}
    return top_level({"padding": PADDING, "vconcat": [body, footer], **INDEPENDENT}, spec.get("config"))


def _placed_on_page(drawing: bytes, size: tuple[float, float]) -> PageObject:
    """The one-page drawing scaled to fit inside the margins of a page of `size`, centred."""
    source = PdfReader(io.BytesIO(drawing)).pages[0]
    box = source.mediabox
    src_width, src_height = float(box.width), float(box.height)
    page_width, page_height = size
    scale = min((page_width - 2 * MARGIN) / src_width, (page_height - 2 * MARGIN) / src_height)
    dx = (page_width - src_width * scale) / 2 - float(box.left) * scale
    dy = (page_height - src_height * scale) / 2 - float(box.bottom) * scale
    page = PageObject.create_blank_page(width=page_width, height=page_height)
    page.merge_transformed_page(source, Transformation().scale(scale, scale).translate(dx, dy))
    return page
