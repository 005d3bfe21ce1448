"""Saved options are checked against the visualization type and the data's columns."""

from __future__ import annotations

import pytest

from openlytics.render import VisualizationOptionsError, check_options, visualization_spec
from tests.render.samples import COLUMNS, chart, view

NAMES = [c.name for c in COLUMNS]


def test_column_mapping_naming_a_missing_column_is_a_typed_error() -> None:
    with pytest.raises(VisualizationOptionsError) as caught:
        visualization_spec(chart("line", {"day": "x", "revenue": "y"}))
    assert caught.value.field == "columnMapping"
    assert "revenue" in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_check_options_alone_finds_the_same_missing_column() -> None:
    with pytest.raises(VisualizationOptionsError) as caught:
        check_options("chart", {"columnMapping": {"revenue": "y"}}, NAMES)
    assert (caught.value.field, caught.value.reason) == ("columnMapping", "the data has no column 'revenue'")


def test_without_column_names_only_the_shape_of_options_is_checked() -> None:
    check_options("CHART", {"globalSeriesType": "area", "columnMapping": {"revenue": "y"}}, [])
    check_options("TABLE", {"columns": [{"name": "anything"}]}, [])
    with pytest.raises(VisualizationOptionsError) as caught:
        check_options("CHART", {"globalSeriesType": "radar"}, [])
    assert caught.value.field == "globalSeriesType"


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        ("MAP", {}, "type"),
        ("CHART", {"globalSeriesType": "radar"}, "globalSeriesType"),
        ("CHART", {"columnMapping": {"day": "colour"}}, "columnMapping"),
        ("CHART", {"columnMapping": {"day": "x", "region": "x"}}, "columnMapping"),
        ("CHART", {"seriesOptions": {"sales": {"type": "radar"}}}, "seriesOptions"),
        ("CHART", {"xAxis": {"type": "polar"}}, "xAxis"),
        ("CHART", {"series": {"stacking": "sideways"}}, "series"),
        ("TABLE", {"columns": [{"name": "day"}, {"name": "revenue"}]}, "columns"),
        ("TABLE", {"columns": ["day"]}, "columns"),
        ("PIVOT", {"rows": ["revenue"]}, "rows"),
        ("PIVOT", {"cols": ["revenue"]}, "cols"),
        ("PIVOT", {"vals": ["revenue"]}, "vals"),
        ("PIVOT", {"aggregatorName": "Median"}, "aggregatorName"),
        ("COUNTER", {"counterColName": "revenue"}, "counterColName"),
        ("COUNTER", {"targetColName": "revenue"}, "targetColName"),
        ("COUNTER", {"rowNumber": 0}, "rowNumber"),
        ("COUNTER", {"rowNumber": "first"}, "rowNumber"),
    ],
)
def test_options_that_do_not_fit_name_the_option_at_fault(kind: str, options: dict, field: str) -> None:
    with pytest.raises(VisualizationOptionsError) as caught:
        check_options(kind, options, NAMES)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        (
            "chart",
            {"globalSeriesType": "bubble", "columnMapping": {"day": "x", "sales": "y", "orders": "size"}},
        ),
        (
            "CHART",
            {"columnMapping": {"day": "x", "sales": "y", "region": "unused"}, "series": {"stacking": None}},
        ),
        ("Table", {"columns": [{"name": "day", "title": "Day", "visible": True, "order": 0}]}),
        ("PIVOT", {"rows": ["day"], "cols": ["region"], "vals": ["sales"], "aggregatorName": "Sum"}),
        ("COUNTER", {"counterColName": "sales", "rowNumber": 2, "targetColName": "orders"}),
    ],
)
def test_options_the_client_saves_pass(kind: str, options: dict) -> None:
    check_options(kind, options, NAMES)


def test_a_visualization_of_an_unknown_type_cannot_be_drawn() -> None:
    with pytest.raises(VisualizationOptionsError) as caught:
        visualization_spec(view("SANKEY"))
    assert caught.value.field == "type"
