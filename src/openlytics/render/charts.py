"""CHART visualizations as Vega-Lite views: line, column, area, pie, scatter, bubble and box.

The data is folded here into one record per (row, y column) with fixed keys x / y / series / size,
so column names never have to be escaped as Vega-Lite field paths. Series whose type differs from
the chart's (a "mixed" chart) become one layer per type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from openlytics.render.model import VisualizationView
from openlytics.render.options import chart_type
from openlytics.render.text import message_spec
from openlytics.render.values import as_number, epoch_ms, looks_like_datetime

# Vega-Lite's default palette, used to fill in series that have no colour of their own.
DEFAULT_COLORS = (
    "#4c78a8",
    "#f58518",
    "#e45756",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
)
STACKS = {"stack": "zero", "normal": "zero", "percent": "normalize"}
POINTS_UP_TO = 60


@dataclass(frozen=True)
class ChartMapping:
    """Which column plays which part: one x, one or more y, and optionally series and size."""

    x: str
    ys: tuple[str, ...]
    series: str | None
    size: str | None


def chart_mapping(view: VisualizationView) -> ChartMapping:
    """The column mapping of a chart, with the client's defaults: first column x, numeric columns y."""
    by_role: dict[str, list[str]] = {}
    for name, role in (view.options.get("columnMapping") or {}).items():
        by_role.setdefault(role, []).append(name)
    series = next(iter(by_role.get("series", [])), None)
    size = next(iter(by_role.get("size", [])), None)
    taken = {series, size, *by_role.get("unused", []), *by_role.get("yError", [])}
    names = [n for n in view.column_names if n not in taken]
    xs = by_role.get("x") or [n for n in names if n not in by_role.get("y", [])] or view.column_names
    x = xs[0]
    others = [n for n in names if n != x]
    numeric = [n for n in others if (c := view.column(n)) is not None and c.is_numeric]
    ys = by_role.get("y") or numeric or others[:1] or [x]
    return ChartMapping(x=x, ys=tuple(ys), series=series, size=size)


def chart_spec(view: VisualizationView, width: int | None, height: int | None) -> dict[str, Any]:
    """A CHART visualization as a Vega-Lite view (no top-level properties)."""
    if not view.columns:
        return message_spec("No data", title=view.name, width=width, height=height)
    kind = chart_type(view.options)
    mapping = chart_mapping(view)
    records, series_columns = _records(view, mapping)
    labels = list(series_columns)
    if kind == "pie":
        spec = _pie(view, mapping, records, labels)
    else:
        types = {label: _series_type(view.options, label, series_columns[label], kind) for label in labels}
        spec = _cartesian(view, mapping, records, labels, types)
    spec = {"title": view.name, **spec}
    if width is not None:
        spec["width"] = width
    if height is not None:
        spec["height"] = height
    return spec


def _records(view: VisualizationView, mapping: ChartMapping) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One record per (row, y column), and each series label with the y column it came from."""
    records: list[dict[str, Any]] = []
    series_columns: dict[str, str] = {}
    for row in view.rows:
        for y in mapping.ys:
            label = y
            if mapping.series is not None:
                group = row.get(mapping.series)
                label = str(group) if len(mapping.ys) == 1 else f"{y} · {group}"
            series_columns.setdefault(label, y)
            record = {"x": row.get(mapping.x), "y": as_number(row.get(y)), "series": label}
            if mapping.size is not None:
                record["size"] = as_number(row.get(mapping.size))
            records.append(record)
    return records, series_columns


def _series_type(options: Mapping[str, Any], label: str, column: str, default: str) -> str:
    series_options = options.get("seriesOptions") or {}
    chosen = (series_options.get(label) or series_options.get(column) or {}).get("type") or default
    chosen = str(chosen).lower()
    # A pie slice cannot share axes with other series: draw it as a column.
    return "column" if chosen == "pie" else chosen


def _cartesian(
    view: VisualizationView,
    mapping: ChartMapping,
    records: list[dict[str, Any]],
    labels: list[str],
    types: dict[str, str],
) -> dict[str, Any]:
    options = view.options
    kinds = set(types.values())
    x, convert = _x_encoding(view, mapping, bars="column" in kinds, boxes="box" in kinds)
    for record in records:
        record["x"] = convert(record["x"])
    y_axis = _first_y_axis(options)
    y: dict[str, Any] = {
        "field": "y",
        "type": "quantitative",
        "title": _axis_title(y_axis) or ", ".join(mapping.ys),
    }
    if y_axis.get("type") == "logarithmic":
        y["scale"] = {"type": "log"}
    color = _color(options, mapping, labels)
    stack = STACKS.get((options.get("series") or {}).get("stacking") or "")
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(types[label], []).append(label)
    discrete_x = x["type"] in ("nominal", "ordinal")
    layers = [
        _layer(kind, group, x, y, color, stack, mapping, discrete_x, few=len(view.rows) <= POINTS_UP_TO)
        for kind, group in groups.items()
    ]
    if len(layers) == 1:
        return {"data": {"values": records}, **layers[0]}
    for layer, group in zip(layers, groups.values(), strict=True):
        layer["transform"] = [{"filter": {"field": "series", "oneOf": group}}]
    return {"data": {"values": records}, "layer": layers}


def _layer(
    kind: str,
    labels: list[str],
    x: dict[str, Any],
    y: dict[str, Any],
    color: dict[str, Any],
    stack: str | None,
    mapping: ChartMapping,
    discrete_x: bool,
    *,
    few: bool,
) -> dict[str, Any]:
    encoding: dict[str, Any] = {"x": x, "y": {**y, "stack": stack}, "color": color}
    mark: dict[str, Any]
    if kind == "column":
        mark = {"type": "bar"}
        if stack is None and discrete_x and len(labels) > 1:
            encoding["xOffset"] = {"field": "series", "type": "nominal", "sort": labels}
    elif kind == "area":
        mark = {"type": "area", "line": True, "opacity": 0.9 if stack else 0.5}
    elif kind == "line":
        mark = {"type": "line", "point": few}
    elif kind in ("scatter", "bubble"):
        mark = {"type": "point", "filled": True}
        if kind == "bubble" and mapping.size is not None:
            encoding["size"] = {"field": "size", "type": "quantitative", "title": mapping.size}
    else:  # box: the distribution of y for each x
        encoding["y"] = dict(y)
        return {"mark": {"type": "boxplot", "extent": 1.5}, "encoding": encoding}
    return {"mark": {**mark, "tooltip": True}, "encoding": encoding}


def _pie(
    view: VisualizationView, mapping: ChartMapping, records: list[dict[str, Any]], labels: list[str]
) -> dict[str, Any]:
    color: dict[str, Any] = {"field": "x", "type": "nominal", "title": mapping.x}
    if not _legend_enabled(view.options):
        color["legend"] = None
    encoding: dict[str, Any] = {
        "theta": {"field": "y", "type": "quantitative", "aggregate": "sum", "title": ", ".join(mapping.ys)},
        "color": color,
    }
    if len(labels) > 1:
        encoding["column"] = {"field": "series", "type": "nominal", "title": None, "sort": labels}
    return {"data": {"values": records}, "mark": {"type": "arc", "tooltip": True}, "encoding": encoding}


def _x_encoding(
    view: VisualizationView, mapping: ChartMapping, *, bars: bool, boxes: bool
) -> tuple[dict[str, Any], Callable[[Any], Any]]:
    """The x encoding and how to convert x values for it: temporal, quantitative or nominal."""
    x_axis = view.options.get("xAxis") or {}
    axis_type = x_axis.get("type") or "-"
    column = view.column(mapping.x)
    title = _axis_title(x_axis) or mapping.x
    is_temporal_column = column is not None and column.is_temporal
    if axis_type == "datetime" or (axis_type == "-" and is_temporal_column):
        if column is not None and is_temporal_column:
            has_time = column.type == "datetime"
        else:
            has_time = looks_like_datetime([row.get(mapping.x) for row in view.rows])
        if bars or boxes:
            # Bars side by side need a band scale: the time axis becomes ordered time steps.
            unit = "utcyearmonthdatehoursminutes" if has_time else "utcyearmonthdate"
            return {"field": "x", "type": "ordinal", "timeUnit": unit, "title": title}, epoch_ms
        return {"field": "x", "type": "temporal", "scale": {"type": "utc"}, "title": title}, epoch_ms
    is_numeric_column = column is not None and column.is_numeric
    automatic_numbers = axis_type == "-" and is_numeric_column and not bars
    if (axis_type in ("linear", "logarithmic") or automatic_numbers) and not boxes:
        encoding: dict[str, Any] = {"field": "x", "type": "quantitative", "title": title}
        if axis_type == "logarithmic":
            encoding["scale"] = {"type": "log"}
        return encoding, as_number
    sort = None if view.options.get("sortX") is False else "ascending"
    return {"field": "x", "type": "nominal", "title": title, "sort": sort}, _same


def _same(value: Any) -> Any:
    return value


def _color(options: Mapping[str, Any], mapping: ChartMapping, labels: list[str]) -> dict[str, Any]:
    scale: dict[str, Any] = {"domain": labels}
    series_options = options.get("seriesOptions") or {}
    chosen = [(series_options.get(label) or {}).get("color") for label in labels]
    if any(chosen):
        scale["range"] = [c or DEFAULT_COLORS[i % len(DEFAULT_COLORS)] for i, c in enumerate(chosen)]
    color: dict[str, Any] = {"field": "series", "type": "nominal", "title": mapping.series, "scale": scale}
    if not _legend_enabled(options):
        color["legend"] = None
    return color


def _legend_enabled(options: Mapping[str, Any]) -> bool:
    return bool((options.get("legend") or {}).get("enabled", True))


def _first_y_axis(options: Mapping[str, Any]) -> Mapping[str, Any]:
    y_axes = options.get("yAxis")
    if isinstance(y_axes, list) and y_axes and isinstance(y_axes[0], Mapping):
        return y_axes[0]
    return {}


def _axis_title(axis: Mapping[str, Any]) -> str | None:
    title = axis.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    return str(title) if title else None
