"""COUNTER visualizations: one big number from a cell, optionally against a target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openlytics.render.model import Column, VisualizationView
from openlytics.render.values import as_number, format_cell, format_number

MISSING = "\u2013"  # an en dash
TREND_COLORS = {"up": "#2e7d32", "down": "#c62828", "": "#222222"}


@dataclass(frozen=True)
class CounterValues:
    """What a counter shows: its label, the value and target as text, and the trend ("up", "down", "")."""

    label: str
    value: str
    target: str
    trend: str


def counter_values(view: VisualizationView) -> CounterValues:
    """The counter's text: `counterColName` at `rowNumber` (1-based), or the first cell by default."""
    options = view.options
    names = view.column_names
    value_column = options.get("counterColName") or (names[0] if names else None)
    if options.get("countRow"):
        value: Any = len(view.rows)
    else:
        value = _cell(view, value_column, options.get("rowNumber"))
    target: Any = None
    if options.get("targetColName"):
        target = _cell(view, options["targetColName"], options.get("targetRowNumber"))
    number, target_number = as_number(value), as_number(target)
    trend = ""
    if number is not None and target_number is not None and number != target_number:
        trend = "up" if number > target_number else "down"
    return CounterValues(
        label=str(options.get("counterLabel") or view.name),
        value=_format(value, options, view.column(value_column or "")),
        target="" if target is None else _format(target, options, view.column(options["targetColName"])),
        trend=trend,
    )


def counter_spec(view: VisualizationView, width: int | None, height: int | None) -> dict[str, Any]:
    """A COUNTER visualization as a Vega-Lite view: the label, the big value and the target, centred."""
    values = counter_values(view)
    width = width or 300
    height = height or 160
    value_size = min(64, height * 0.4, width / (max(1, len(values.value)) * 0.62))
    records = [
        {"text": values.label, "y": 14, "size": 14, "color": "#555555"},
        {"text": values.value, "y": height / 2, "size": value_size, "color": TREND_COLORS[values.trend]},
    ]
    if values.target:
        records.append({"text": values.target, "y": height - 14, "size": 16, "color": "#777777"})
    return {
        "width": width,
        "height": height,
        "view": {"stroke": None},
        "data": {"values": records},
        "mark": {"type": "text", "fontWeight": "bold", "limit": width, "baseline": "middle"},
        "encoding": {
            "x": {"value": width / 2},
            "y": {"field": "y", "type": "quantitative", "scale": None},
            "size": {"field": "size", "type": "quantitative", "scale": None},
            "color": {"field": "color", "type": "nominal", "scale": None},
            "text": {"field": "text"},
        },
    }


def _cell(view: VisualizationView, column: str | None, row_number: Any) -> Any:
    index = int(row_number) - 1 if row_number not in (None, "") else 0
    if column is None or not 0 <= index < len(view.rows):
        return None
    return view.rows[index].get(column)


def _format(value: Any, options: Mapping[str, Any], column: Column | None) -> str:
    if value is None:
        return MISSING
    # Decimals often arrive as strings: a numeric column's text is still a number.
    numeric = not isinstance(value, str) or (column is not None and column.is_numeric)
    number = as_number(value) if numeric else None
    if number is None:
        text = format_cell(value)
    else:
        decimals = options.get("stringDecimal")
        places = int(str(decimals)) if str(decimals).isdecimal() else None
        text = format_number(number, places)
        # Swap through a placeholder so "." and "," can trade places.
        text = text.replace(",", "\0").replace(".", str(options.get("stringDecChar") or "."))
        text = text.replace("\0", str(options.get("stringThouSep", ",")))
    return f"{options.get('stringPrefix') or ''}{text}{options.get('stringSuffix') or ''}"
