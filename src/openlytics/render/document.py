"""A dashboard as a multi-page PDF document: cover page, orientation, one widget per page, footer.

vl-convert draws each page as its own one-page PDF, sized to its content; pypdf then centres each
drawing, scaled to fit, on a fixed A4 page and joins the pages into one document.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation

from openlytics.render.dashboard import CONFIG, INDEPENDENT, PADDING, ROW_PX, dashboard_spec, widget_spec
from openlytics.render.image import DASHBOARD_WIDTH, render_pdf
from openlytics.render.model import DashboardView, WidgetView
from openlytics.render.vega import top_level

A4_POINTS = (842.0, 595.0)  # long side, short side
MARGIN = 24.0
FOOTER_PX = 28
WIDGET_ROWS = 10  # a widget on a page of its own is drawn this many grid rows high


@dataclass(frozen=True)
class DocumentOptions:
    """How a dashboard is laid out as a document."""

    landscape: bool = True
    cover_page: bool = False
    one_widget_per_page: bool = False
    page_numbers: bool = False
    footer_text: str = ""

    @property
    def page_size(self) -> tuple[float, float]:
        """The page's width and height in points (A4)."""
        long, short = A4_POINTS
        return (long, short) if self.landscape else (short, long)


def dashboard_document(view: DashboardView, options: DocumentOptions | None = None) -> bytes:
    """The dashboard as a PDF: an optional cover page, then the dashboard or one widget a page."""
    options = options or DocumentOptions()
    width = DASHBOARD_WIDTH if options.landscape else round(DASHBOARD_WIDTH * A4_POINTS[1] / A4_POINTS[0])
    bodies = [_cover_spec(view.name, width)] if options.cover_page else []
    if options.one_widget_per_page:
        bodies += [_widget_page_spec(view.name, w, width) for w in view.widgets if w.visualization]
    if not options.one_widget_per_page or len(bodies) == int(options.cover_page):
        bodies.append(dashboard_spec(view, width=width))
    writer = PdfWriter()
    for number, body in enumerate(bodies, start=1):
        footer = _footer_text(options, number, len(bodies))
        drawing = render_pdf(_with_footer(body, footer, width) if footer else body)
        writer.add_page(_placed_on_page(drawing, options.page_size))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
    inner = width - 2 * PADDING
    body = widget_spec(widget, inner, WIDGET_ROWS * ROW_PX)
    title = {"text": name, "fontSize": 16, "limit": inner, "offset": 12}
    return top_level({"title": title, "padding": PADDING, "vconcat": [body], **INDEPENDENT}, CONFIG)


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
