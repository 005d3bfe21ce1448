"""CHART visualizations: each series type as a Vega-Lite spec, drawn for real by vl-convert."""

from __future__ import annotations

from typing import Any

import pytest

from openlytics.render import render_pdf, render_png, render_svg, visualization_spec
from openlytics.render.model import Column, VisualizationView
from tests.render.samples import ROWS, chart, is_pdf, png_size

JAN_1_2024_MS = 1_704_067_200_000
DAY_MS = 86_400_000

CASES = [
    # series type, column mapping, the Vega-Lite mark, the encodings it needs
    ("line", {"day": "x", "sales": "y", "region": "series"}, "line", {"x", "y", "color"}),
    ("column", {"region": "x", "sales": "y"}, "bar", {"x", "y", "color"}),
    ("area", {"day": "x", "sales": "y", "region": "series"}, "area", {"x", "y", "color"}),
    ("scatter", {"sales": "x", "orders": "y"}, "point", {"x", "y", "color"}),
    ("bubble", {"sales": "x", "orders": "y", "profit": "size"}, "point", {"x", "y", "color", "size"}),
    ("box", {"region": "x", "sales": "y"}, "boxplot", {"x", "y", "color"}),
    ("pie", {"region": "x", "sales": "y"}, "arc", {"theta", "color"}),
]


def mark_type(spec: dict[str, Any]) -> str:
    mark = spec["mark"]
    return mark if isinstance(mark, str) else mark["type"]


@pytest.mark.parametrize(("series_type", "mapping", "mark", "channels"), CASES, ids=[c[0] for c in CASES])
def test_each_chart_type_is_a_spec_vl_convert_draws(
    series_type: str, mapping: dict[str, str], mark: str, channels: set[str]
) -> None:
    spec = visualization_spec(chart(series_type, mapping), width=400, height=200)

    assert spec["$schema"].endswith("/vega-lite/v5.json")
    assert spec["title"] == "Sales"
    assert (spec["width"], spec["height"]) == (400, 200)
    assert len(spec["data"]["values"]) == len(ROWS)
    assert mark_type(spec) == mark
    assert channels <= set(spec["encoding"])
    assert all(spec["encoding"][c].get("field") for c in channels)
    width, height = png_size(render_png(spec))
    assert 400 <= width <= 600 and 200 <= height <= 360, (width, height)
    assert is_pdf(render_pdf(spec))


def test_date_x_values_become_a_utc_time_axis() -> None:
    spec = visualization_spec(chart("line", {"day": "x", "sales": "y", "region": "series"}), width=500)

    assert spec["encoding"]["x"]["type"] == "temporal"
    assert spec["encoding"]["x"]["scale"] == {"type": "utc"}
    xs = sorted({r["x"] for r in spec["data"]["values"]})
    assert xs == [JAN_1_2024_MS + day * DAY_MS for day in range(10)]
    svg = render_svg(spec)
    assert "Jan" in svg and "<path" in svg


def test_datetime_axis_type_reads_text_columns_as_time() -> None:
    rows = tuple({"at": f"2024-03-01T{hour:02d}:30:00", "n": hour} for hour in range(6))
    view = VisualizationView(
        "CHART",
        "By hour",
        {"globalSeriesType": "column", "columnMapping": {"at": "x", "n": "y"}, "xAxis": {"type": "datetime"}},
        (Column("at", "string"), Column("n", "integer")),
        rows,
    )
    spec = visualization_spec(view)

    # Bars need a band scale: time steps in order, labelled as times.
    assert spec["encoding"]["x"]["type"] == "ordinal"
    assert spec["encoding"]["x"]["timeUnit"] == "utcyearmonthdatehoursminutes"
    assert spec["data"]["values"][0]["x"] == JAN_1_2024_MS + 60 * DAY_MS + 30 * 60_000
    assert png_size(render_png(spec))[0] > 0


def test_category_axis_keeps_dates_as_labels() -> None:
    spec = visualization_spec(chart("line", {"day": "x", "sales": "y"}, xAxis={"type": "category"}))

    assert spec["encoding"]["x"]["type"] == "nominal"
    assert spec["data"]["values"][0]["x"] == "2024-01-01"


def test_mixed_series_types_are_drawn_as_one_layer_per_type() -> None:
    view = chart(
        "column",
        {"day": "x", "sales": "y", "orders": "y"},
        seriesOptions={"orders": {"type": "line", "color": "#ff0000"}},
    )
    spec = visualization_spec(view, width=500, height=250)

    marks = {mark_type(layer): layer for layer in spec["layer"]}
    assert set(marks) == {"bar", "line"}
    assert marks["bar"]["transform"] == [{"filter": {"field": "series", "oneOf": ["sales"]}}]
    assert marks["line"]["transform"] == [{"filter": {"field": "series", "oneOf": ["orders"]}}]
    assert marks["bar"]["encoding"]["color"]["scale"] == {
        "domain": ["sales", "orders"],
        "range": ["#4c78a8", "#ff0000"],
    }
    svg = render_svg(spec)
    assert 'class="mark-rect' in svg and 'class="mark-line' in svg
    assert png_size(render_png(spec))[0] >= 500
    assert is_pdf(render_pdf(spec))


def test_several_y_columns_fold_into_series() -> None:
    spec = visualization_spec(chart("line", {"day": "x", "sales": "y", "profit": "y"}))

    values = spec["data"]["values"]
    assert len(values) == 2 * len(ROWS)
    assert {v["series"] for v in values} == {"sales", "profit"}
    # Decimals arrive as text and are drawn as numbers.
    assert {v["y"] for v in values if v["series"] == "profit"} >= {1.25, 12.5}
    assert spec["encoding"]["y"]["title"] == "sales, profit"


def test_a_series_column_with_several_y_columns_names_both() -> None:
    spec = visualization_spec(chart("line", {"day": "x", "sales": "y", "orders": "y", "region": "series"}))

    assert spec["encoding"]["color"]["scale"]["domain"] == [
        "sales · north",
        "orders · north",
        "sales · south",
        "orders · south",
    ]


@pytest.mark.parametrize(
    ("stacking", "stack"), [("stack", "zero"), ("normal", "zero"), ("percent", "normalize")]
)
def test_stacking_stacks_columns(stacking: str, stack: str) -> None:
    spec = visualization_spec(
        chart("column", {"day": "x", "sales": "y", "region": "series"}, series={"stacking": stacking})
    )
    assert spec["encoding"]["y"]["stack"] == stack
    assert "xOffset" not in spec["encoding"]


def test_unstacked_columns_stand_side_by_side() -> None:
    spec = visualization_spec(
        chart("column", {"day": "x", "sales": "y", "region": "series"}, series={"stacking": None})
    )
    assert spec["encoding"]["y"]["stack"] is None
    assert spec["encoding"]["xOffset"]["field"] == "series"


def test_a_disabled_legend_is_not_drawn() -> None:
    spec = visualization_spec(
        chart("area", {"day": "x", "sales": "y", "region": "series"}, legend={"enabled": False})
    )
    assert spec["encoding"]["color"]["legend"] is None
    assert "role-legend" not in render_svg(spec)


def test_logarithmic_and_linear_axes_are_quantitative() -> None:
    log = visualization_spec(chart("scatter", {"sales": "x", "orders": "y"}, xAxis={"type": "logarithmic"}))
    linear = visualization_spec(chart("line", {"orders": "x", "sales": "y"}, xAxis={"type": "linear"}))

    assert log["encoding"]["x"] == {
        "field": "x",
        "type": "quantitative",
        "title": "sales",
        "scale": {"type": "log"},
    }
    assert linear["encoding"]["x"]["type"] == "quantitative"


def test_without_a_column_mapping_the_first_column_is_x_and_numbers_are_y() -> None:
    spec = visualization_spec(chart("line", {}))

    assert spec["encoding"]["x"]["title"] == "day"
    assert {v["series"] for v in spec["data"]["values"]} == {"sales", "profit", "orders"}


def test_a_pie_per_series_when_there_are_several() -> None:
    spec = visualization_spec(chart("pie", {"region": "x", "sales": "y", "orders": "y"}))

    assert spec["encoding"]["theta"]["aggregate"] == "sum"
    assert spec["encoding"]["column"]["field"] == "series"
    assert render_svg(spec).count('class="mark-arc') == 2


def test_a_chart_without_columns_says_there_is_no_data() -> None:
    spec = visualization_spec(VisualizationView("CHART", "Empty", {}, (), ()))
    assert spec["data"]["values"] == [{"text": "No data"}]
    assert png_size(render_png(spec))[0] > 0
