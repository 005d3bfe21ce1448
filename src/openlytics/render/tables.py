"""TABLE visualizations: which columns show and how, and the table as a grid of Vega-Lite text marks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openlytics.render.model import VisualizationView
from openlytics.render.text import message_spec
from openlytics.render.values import format_cell

TABLE_ROW_LIMIT = 50
ROW_HEIGHT = 20
HEADER_HEIGHT = 24
COLUMN_WIDTH = 120
ROW_LABEL_WIDTH = 100


@dataclass(frozen=True)
class TableColumn:
    """A column as the table shows it: the data's column name and the header title."""

    name: str
    title: str


def table_columns(view: VisualizationView) -> list[TableColumn]:
    """The visible columns in their saved order (`options.columns`), or every column when none are saved."""
    saved = [c for c in view.options.get("columns") or [] if isinstance(c, Mapping) and "name" in c]
    if not saved:
        return [TableColumn(c.name, c.name) for c in view.columns]
    ordered = sorted(enumerate(saved), key=lambda item: (_order(item[1], item[0]), item[0]))
    return [
        TableColumn(str(c["name"]), str(c.get("title") or c["name"]))
        for _, c in ordered
        if c.get("visible", True) is not False
    ]


def _order(column: Mapping[str, Any], index: int) -> float:
    order = column.get("order")
    return float(order) if isinstance(order, int | float) and not isinstance(order, bool) else float(index)


def table_spec(
    view: VisualizationView, width: int | None, height: int | None, *, row_limit: int = TABLE_ROW_LIMIT
) -> dict[str, Any]:
    """A TABLE visualization as a Vega-Lite view: a text mark per cell, at most `row_limit` rows."""
    columns = table_columns(view)
    if height is not None:
        row_limit = min(row_limit, max(1, (height - HEADER_HEIGHT) // ROW_HEIGHT))
    shown = view.rows[:row_limit]
    if not columns or not shown:
        return message_spec("No rows", title=view.name, width=width, height=height)
    cells = [
        {"row": index, "column": column.title, "text": format_cell(row.get(column.name))}
        for index, row in enumerate(shown)
        for column in columns
    ]
    more = len(view.rows) - len(shown)
    note = f"… {more:,} more rows" if more > 0 else None
    return text_grid(
        cells,
        [c.title for c in columns],
        title=view.name,
        note=note,
        width=width or COLUMN_WIDTH * len(columns),
    )


def text_grid(
    cells: list[dict[str, Any]],
    column_titles: list[str],
    *,
    title: str,
    note: str | None,
    width: int,
    row_titles: list[str] | None = None,
    row_axis_title: str | None = None,
    column_axis_title: str | None = None,
    heat: bool = False,
) -> dict[str, Any]:
    """Cells {row, column, text[, value]} as a grid of text marks under a header of column titles.

    With `row_titles` the rows get a labelled axis (a pivot table); with `heat` each cell is also
    shaded by its numeric `value`.
    """
    band = width / max(1, len(column_titles))
    x = {
        "field": "column",
        "type": "nominal",
        "sort": column_titles,
        "axis": {
            "orient": "top",
            "title": column_axis_title,
            "labelAngle": 0,
            "labelLimit": max(20, band - 6),
            "labelFontWeight": "bold",
            "domain": False,
            "ticks": False,
        },
    }
    y: dict[str, Any] = {"field": "row", "type": "ordinal", "axis": None}
    if row_titles is not None:
        y = {
            "field": "row",
            "type": "nominal",
            "sort": row_titles,
            "axis": {
                "title": row_axis_title,
                "domain": False,
                "ticks": False,
                "labelLimit": ROW_LABEL_WIDTH - 4,
                "minExtent": ROW_LABEL_WIDTH,
                "maxExtent": ROW_LABEL_WIDTH,
            },
        }
    text_layer: dict[str, Any] = {
        "mark": {"type": "text", "limit": max(20, band - 8), "fontSize": 12},
        "encoding": {"text": {"field": "text"}},
    }
    layers = [text_layer]
    if heat:
        layers.insert(0, {"mark": {"type": "rect"}, "encoding": _heat_color()})
        text_layer["encoding"]["color"] = {
            "condition": {"test": "datum.shade > 0.6", "value": "white"},
            "value": "black",
        }
    return {
        "title": {"text": title, "subtitle": note} if note else title,
        "width": width,
        "height": {"step": ROW_HEIGHT},
        "view": {"stroke": "#ddd"},
        "data": {"values": cells},
        "encoding": {"x": x, "y": y},
        "layer": layers,
    }


def _heat_color() -> dict[str, Any]:
    return {
        "color": {
            "field": "value",
            "type": "quantitative",
            "legend": None,
            "scale": {"scheme": "blues"},
        }
    }
