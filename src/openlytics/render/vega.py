"""Visualizations as Vega-Lite v5 specifications with their data inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openlytics.render.charts import chart_spec
from openlytics.render.counter import counter_spec
from openlytics.render.model import VisualizationView
from openlytics.render.options import check_options, visualization_kind
from openlytics.render.pivot import pivot_spec
from openlytics.render.tables import table_spec

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"

ViewBuilder = Callable[[VisualizationView, int | None, int | None], dict[str, Any]]
_BUILDERS: dict[str, ViewBuilder] = {
    "CHART": chart_spec,
    "TABLE": table_spec,
    "PIVOT": pivot_spec,
    "COUNTER": counter_spec,
}


def view_spec(
    view: VisualizationView, *, width: int | None = None, height: int | None = None
) -> dict[str, Any]:
    """The visualization as a Vega-Lite view without top-level properties, to nest in a larger spec.

    Raises VisualizationOptionsError when the options do not fit the type or the data's columns.
    """
    kind = visualization_kind(view.type)
    check_options(kind, view.options, view.column_names)
    return _BUILDERS[kind](view, width, height)


def visualization_spec(
    view: VisualizationView, *, width: int | None = None, height: int | None = None
) -> dict[str, Any]:
    """The visualization as a complete Vega-Lite v5 spec, data inline; `width`/`height` size its plot area.

    Raises VisualizationOptionsError when the options do not fit the type or the data's columns.
    """
    return top_level(view_spec(view, width=width, height=height))


def top_level(spec: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A view made into a complete spec: schema, white background and, if given, configuration."""
    complete = {"$schema": SCHEMA, "background": "white", **spec}
    if config:
        complete["config"] = config
    return complete
