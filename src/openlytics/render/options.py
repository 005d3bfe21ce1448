"""Checks on saved visualization options: known types, and only columns the data has.

The server calls `check_options` when a visualization is saved, sometimes before any data exists
(then `column_names` is empty and the column checks are skipped); the renderers call it first too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openlytics.render.errors import VisualizationOptionsError

VISUALIZATION_TYPES = ("TABLE", "CHART", "PIVOT", "COUNTER")
CHART_TYPES = ("line", "column", "area", "pie", "scatter", "bubble", "box")
# "unused" and "yError" are roles the client can save; they are accepted and not drawn.
MAPPING_ROLES = ("x", "y", "series", "size", "unused", "yError")
X_AXIS_TYPES = ("-", "category", "datetime", "linear", "logarithmic")
STACKING_MODES = (None, "stack", "normal", "percent")
AGGREGATORS = ("Count", "Sum", "Average", "Minimum", "Maximum")


def check_options(type: str, options: Mapping[str, Any], column_names: Sequence[str]) -> None:
    """Raise VisualizationOptionsError if `options` do not fit a `type` visualization over these columns."""
    kind = visualization_kind(type)
    if not isinstance(options, Mapping):
        raise VisualizationOptionsError("options", "must be an object")
    _CHECKS[kind](options, _Columns(column_names))


def visualization_kind(type: str) -> str:
    """The upper-case visualization type, or VisualizationOptionsError if it is not one we draw."""
    kind = type.upper() if isinstance(type, str) else ""
    if kind not in VISUALIZATION_TYPES:
        raise VisualizationOptionsError("type", f"unknown visualization type {type!r}")
    return kind


def chart_type(options: Mapping[str, Any]) -> str:
    """The chart's global series type ("column" when unset)."""
    value = options.get("globalSeriesType") or "column"
    return str(value).lower()


class _Columns:
    """The column names to check against; with none known, every name passes."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = set(names)

    def require(self, field: str, name: Any) -> None:
        if not isinstance(name, str):
            raise VisualizationOptionsError(field, f"column names must be strings, not {name!r}")
        if self.names and name not in self.names:
            raise VisualizationOptionsError(field, f"the data has no column {name!r}")


def _mapping_of(options: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = options.get(field)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise VisualizationOptionsError(field, "must be an object")
    return value


def _list_of(options: Mapping[str, Any], field: str) -> list[Any]:
    value = options.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise VisualizationOptionsError(field, "must be a list")
    return value


def _check_chart(options: Mapping[str, Any], columns: _Columns) -> None:
    if chart_type(options) not in CHART_TYPES:
        raise VisualizationOptionsError(
            "globalSeriesType", f"unknown chart type {options.get('globalSeriesType')!r}"
        )
    mapping = _mapping_of(options, "columnMapping")
    for name, role in mapping.items():
        if role not in MAPPING_ROLES:
            raise VisualizationOptionsError("columnMapping", f"unknown role {role!r} for column {name!r}")
        columns.require("columnMapping", name)
    if list(mapping.values()).count("x") > 1:
        raise VisualizationOptionsError("columnMapping", "only one column can be the x axis")
    for series, series_options in _mapping_of(options, "seriesOptions").items():
        if not isinstance(series_options, Mapping):
            reason = f"options of series {series!r} must be an object"
            raise VisualizationOptionsError("seriesOptions", reason)
        series_type = series_options.get("type")
        if series_type is not None and str(series_type).lower() not in CHART_TYPES:
            raise VisualizationOptionsError("seriesOptions", f"unknown chart type {series_type!r}")
    x_axis_type = _mapping_of(options, "xAxis").get("type")
    if x_axis_type is not None and x_axis_type not in X_AXIS_TYPES:
        raise VisualizationOptionsError("xAxis", f"unknown axis type {x_axis_type!r}")
    if _mapping_of(options, "series").get("stacking") not in STACKING_MODES:
        raise VisualizationOptionsError("series", "stacking must be null, 'stack', 'normal' or 'percent'")
    _mapping_of(options, "legend")


def _check_table(options: Mapping[str, Any], columns: _Columns) -> None:
    for column in _list_of(options, "columns"):
        if not isinstance(column, Mapping) or "name" not in column:
            raise VisualizationOptionsError("columns", "each column must be an object with a name")
        columns.require("columns", column["name"])


def _check_pivot(options: Mapping[str, Any], columns: _Columns) -> None:
    for field in ("rows", "cols", "vals"):
        for name in _list_of(options, field):
            columns.require(field, name)
    aggregator = options.get("aggregatorName")
    if aggregator is not None and aggregator not in AGGREGATORS:
        raise VisualizationOptionsError("aggregatorName", f"unknown aggregator {aggregator!r}")


def _check_counter(options: Mapping[str, Any], columns: _Columns) -> None:
    for field in ("counterColName", "targetColName"):
        if options.get(field):
            columns.require(field, options[field])
    for field in ("rowNumber", "targetRowNumber"):
        value = options.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal():
            raise VisualizationOptionsError(field, "must be a positive whole number")
        if int(value) < 1:
            raise VisualizationOptionsError(field, "row numbers start at 1")


_CHECKS: dict[str, Callable[[Mapping[str, Any], _Columns], None]] = {
    "CHART": _check_chart,
    "TABLE": _check_table,
    "PIVOT": _check_pivot,
    "COUNTER": _check_counter,
}
