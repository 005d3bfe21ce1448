"""A whole dashboard as one Vega-Lite spec, laid out on its 6-column grid.

Widgets are grouped into bands of rows that overlap; inside a band, widgets whose columns overlap
are stacked one above the other; bands are concatenated vertically, stacks (and spacers for empty
columns) horizontally. Each view is sized so that its axes fit inside its cell and the image comes
out `width` pixels wide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openlytics.render.errors import VisualizationOptionsError
from openlytics.render.model import DashboardView, Position, WidgetView
from openlytics.render.options import chart_type, visualization_kind
from openlytics.render.text import message_spec, text_spec
from openlytics.render.vega import top_level, view_spec

GRID_COLUMNS = 6
ROW_PX = 50
GUTTER = 16
PADDING = 10
TITLE_PX = 26
Y_AXIS_PX = 40  # the y axis' labels: fixed by the configuration below
AXIS_TITLE_PX = 16
X_AXIS_PX = 40
LEGEND_PX = 40
LEGEND_ENTRY_PX = 130

# Each widget keeps its own scales and legends (concatenated views share colours by default), and
# views are not aligned to a common origin, which an axis on one would push onto all the others.
INDEPENDENT: dict[str, Any] = {
    "align": "none",
    "resolve": {
        "scale": {c: "independent" for c in ("x", "y", "color", "size", "theta")},
        "legend": {c: "independent" for c in ("color", "size")},
        "axis": {"x": "independent", "y": "independent"},
    },
}
CONFIG: dict[str, Any] = {
    "axisY": {"minExtent": Y_AXIS_PX, "maxExtent": Y_AXIS_PX, "labelLimit": Y_AXIS_PX - 4},
    "axisX": {"labelFlush": True},
    "legend": {"orient": "bottom", "columns": 3, "labelLimit": 90, "titleOrient": "top"},
    "title": {"anchor": "start", "fontSize": 13},
    "concat": {"spacing": GUTTER},
}


@dataclass
class _Stack:
    """Widgets of one band whose columns overlap, drawn one above the other."""

    start: int
    end: int
    widgets: list[WidgetView] = field(default_factory=list)


def dashboard_spec(view: DashboardView, *, width: int = 1200) -> dict[str, Any]:
    """The dashboard as one Vega-Lite spec `width` pixels wide: its name as title, widgets by position."""
    unit = (width - 2 * PADDING + GUTTER) / GRID_COLUMNS
    bands = [_band_spec(band, unit) for band in _bands(view.widgets)]
    if not bands:
        bands = [_spacer(width - 2 * PADDING)]
    spec = {
        "title": {"text": view.name, "fontSize": 20, "limit": width - 2 * PADDING, "offset": 12},
        "padding": PADDING,
        "spacing": GUTTER,
        "vconcat": bands,
        **INDEPENDENT,
    }
    return top_level(spec, CONFIG)


def _placed(position: Position) -> Position:
    """The position clipped to the grid, so a bad saved position still draws."""
    col = min(max(position.col, 0), GRID_COLUMNS - 1)
    size_x = min(max(position.size_x, 1), GRID_COLUMNS - col)
    return Position(col=col, row=max(position.row, 0), size_x=size_x, size_y=max(position.size_y, 1))


def _bands(widgets: tuple[WidgetView, ...]) -> list[list[WidgetView]]:
    """Widgets grouped into runs of rows that overlap, top to bottom."""
    placed = [WidgetView(_placed(w.position), w.text, w.visualization) for w in widgets]
    placed.sort(key=lambda w: (w.position.row, w.position.col))
    bands: list[list[WidgetView]] = []
    band_end = -1
    for widget in placed:
        top, bottom = widget.position.row, widget.position.row + widget.position.size_y
        if bands and top < band_end:
            bands[-1].append(widget)
            band_end = max(band_end, bottom)
        else:
            bands.append([widget])
            band_end = bottom
    return bands


def _band_spec(band: list[WidgetView], unit: float) -> dict[str, Any]:
    stacks: list[_Stack] = []
    for widget in sorted(band, key=lambda w: w.position.col):
        start, end = widget.position.col, widget.position.col + widget.position.size_x
        if stacks and start < stacks[-1].end:
            stacks[-1].end = max(stacks[-1].end, end)
            stacks[-1].widgets.append(widget)
        else:
            stacks.append(_Stack(start, end, [widget]))
    items: list[dict[str, Any]] = []
    cursor = 0
    for stack in stacks:
        if stack.start > cursor:
            items.append(_spacer(_width(stack.start - cursor, unit)))
        items.append(_stack_spec(stack, unit))
        cursor = stack.end
    if cursor < GRID_COLUMNS:
        items.append(_spacer(_width(GRID_COLUMNS - cursor, unit)))
    return {"hconcat": items, **INDEPENDENT}


def _stack_spec(stack: _Stack, unit: float) -> dict[str, Any]:
    width = _width(stack.end - stack.start, unit)
    views = [
        widget_spec(w, width, w.position.size_y * ROW_PX - GUTTER)
        for w in sorted(stack.widgets, key=lambda w: w.position.row)
    ]
    return views[0] if len(views) == 1 else {"vconcat": views, **INDEPENDENT}


def _width(columns: int, unit: float) -> int:
    return round(columns * unit - GUTTER)


def _spacer(width: int) -> dict[str, Any]:
    return {"width": width, "height": 1, "view": {"stroke": None}, "data": {"values": []}, "mark": "point"}


def widget_spec(widget: WidgetView, width: int, height: int) -> dict[str, Any]:
    """One widget in a cell of `width` x `height` pixels; a widget that cannot be drawn says why."""
    visualization = widget.visualization
    if visualization is None:
        return text_spec(widget.text, width=width, height=height)
    try:
        kind = visualization_kind(visualization.type)
        plot_width, plot_height = _plot_size(kind, visualization.options, width, height)
        spec = view_spec(visualization, width=plot_width, height=plot_height)
    except VisualizationOptionsError as error:
        text = f"Cannot draw this visualization: {error}"
        spec = message_spec(text, title=visualization.name, width=width, height=height - TITLE_PX)
    _fit_into_cell(spec, width)
    title = spec.get("title")
    if title is not None:
        spec["title"] = {**(title if isinstance(title, dict) else {"text": title}), "limit": width}
    return spec


def _fit_into_cell(spec: dict[str, Any], width: int) -> None:
    """Draw the y axis inside the view's width, and wrap the legend to it.

    Views in a column of the layout share their origin, so an axis hanging out to the left of one
    would push every widget above and below it to the right; instead the axis is moved into the
    view (a negative offset) and the x scale starts after it.
    """
    for unit in (spec, *spec.get("layer", [])):
        encoding = unit.get("encoding") or {}
        x, y, color = encoding.get("x"), encoding.get("y"), encoding.get("color")
        if color is not None and "field" in color and color.get("legend", {}) is not None:
            color["legend"] = {**(color.get("legend") or {}), "columns": max(1, width // LEGEND_ENTRY_PX)}
        if x is None or y is None or "field" not in x or "field" not in y or y.get("axis", {}) is None:
            continue
        axis = y.get("axis") or {}
        title_px = AXIS_TITLE_PX if axis.get("title", "") is not None else 0
        inset = int(axis.get("maxExtent", Y_AXIS_PX)) + title_px
        y["axis"] = {**axis, "offset": -inset}
        x["scale"] = {**(x.get("scale") or {}), "range": [inset, width]}


def _plot_size(kind: str, options: dict[str, Any], width: int, height: int) -> tuple[int, int]:
    """The plot area that leaves room, inside the cell, for the axes, legend and title around it."""
    inner_height = height - TITLE_PX
    if kind == "CHART":
        legend = LEGEND_PX if (options.get("legend") or {}).get("enabled", True) else 0
        if chart_type(options) == "pie":
            return width, max(40, inner_height - legend)
        return width, max(40, inner_height - X_AXIS_PX - legend)
    if kind in ("TABLE", "PIVOT"):
        return width, inner_height - AXIS_TITLE_PX
    return width, height  # a counter draws its own label
