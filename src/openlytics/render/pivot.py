"""PIVOT visualizations: rows grouped by `options.rows` x `options.cols`, `options.vals` aggregated."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openlytics.render.model import VisualizationView
from openlytics.render.tables import COLUMN_WIDTH, TABLE_ROW_LIMIT, text_grid
from openlytics.render.text import message_spec
from openlytics.render.values import as_number, format_cell, format_number

PIVOT_COLUMN_LIMIT = 20
ALL = "All"

Aggregate = Callable[[list[float | int]], float | int | None]
AGGREGATES: dict[str, Aggregate] = {
    "Sum": lambda values: sum(values),
    "Average": lambda values: sum(values) / len(values) if values else None,
    "Minimum": lambda values: min(values, default=None),
    "Maximum": lambda values: max(values, default=None),
}


@dataclass(frozen=True)
class PivotTable:
    """The aggregated grid: row and column labels in order, and a value per (row, column) present."""

    row_titles: list[str]
    column_titles: list[str]
    values: dict[tuple[str, str], float | int | None]
    row_axis_title: str
    column_axis_title: str
    more_rows: int
    more_columns: int


def pivot_table(view: VisualizationView) -> PivotTable:
    """Group and aggregate the rows as the pivot options say; without them, count rows by the first column."""
    options = view.options
    rows = list(options.get("rows") or [])
    cols = list(options.get("cols") or [])
    vals = list(options.get("vals") or [])
    aggregator = options.get("aggregatorName") or "Count"
    if not (rows or cols or vals) and "aggregatorName" not in options and view.columns:
        rows = [view.columns[0].name]
    if aggregator != "Count" and not vals:
        aggregator = "Count"  # the client saves a numeric aggregator before a value column is picked
    groups: dict[tuple[tuple[Any, ...], tuple[Any, ...]], list[float | int]] = {}
    counts: dict[tuple[tuple[Any, ...], tuple[Any, ...]], int] = {}
    for row in view.rows:
        key = (tuple(row.get(n) for n in rows), tuple(row.get(n) for n in cols))
        counts[key] = counts.get(key, 0) + 1
        number = as_number(row.get(vals[0])) if vals else None
        bucket = groups.setdefault(key, [])
        if number is not None:
            bucket.append(number)
    row_keys = sorted({k[0] for k in counts}, key=_sort_key)
    col_keys = sorted({k[1] for k in counts}, key=_sort_key)
    aggregate = AGGREGATES.get(aggregator)
    value_title = aggregator if aggregate is None else f"{aggregator} of {vals[0]}"
    shown_rows, shown_cols = row_keys[:TABLE_ROW_LIMIT], col_keys[:PIVOT_COLUMN_LIMIT]
    values: dict[tuple[str, str], float | int | None] = {}
    for key, count in counts.items():
        if key[0] in shown_rows and key[1] in shown_cols:
            label = (_label(key[0]), _label(key[1]) if cols else value_title)
            values[label] = count if aggregate is None else aggregate(groups[key])
    return PivotTable(
        row_titles=[_label(k) for k in shown_rows],
        column_titles=[_label(k) for k in shown_cols] if cols else [value_title],
        values=values,
        row_axis_title=" / ".join(rows),
        column_axis_title=" / ".join(cols),
        more_rows=len(row_keys) - len(shown_rows),
        more_columns=len(col_keys) - len(shown_cols),
    )


def pivot_spec(view: VisualizationView, width: int | None, height: int | None) -> dict[str, Any]:
    """A PIVOT visualization as a Vega-Lite view: a grid of aggregated values, shaded by size."""
    if not view.columns or not view.rows:
        return message_spec("No rows", title=view.name, width=width, height=height)
    table = pivot_table(view)
    peak = max((abs(v) for v in table.values.values() if v is not None), default=0) or 1
    cells = [
        {
            "row": row,
            "column": column,
            "text": "" if value is None else format_number(value),
            "value": value,
            "shade": 0 if value is None else abs(value) / peak,
        }
        for (row, column), value in table.values.items()
    ]
    notes = []
    if table.more_rows:
        notes.append(f"… {table.more_rows:,} more rows")
    if table.more_columns:
        notes.append(f"… {table.more_columns:,} more columns")
    return text_grid(
        cells,
        table.column_titles,
        title=view.name,
        note=", ".join(notes) or None,
        width=width or COLUMN_WIDTH * len(table.column_titles),
        row_titles=table.row_titles,
        row_axis_title=table.row_axis_title or None,
        column_axis_title=table.column_axis_title or None,
        heat=True,
    )


def _label(key: Sequence[Any]) -> str:
    return " / ".join(format_cell(v) for v in key) if key else ALL


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[int, float, str], ...]:
    """Numbers before text, numbers by value: mixed keys still sort."""
    parts = []
    for value in key:
        number = as_number(value) if not isinstance(value, str) else None
        if number is not None:
            parts.append((0, float(number), ""))
        else:
            parts.append((1 if value is not None else 2, 0.0, str(value)))
    return tuple(parts)
