"""TABLE, PIVOT and COUNTER visualizations drawn as text marks."""

from __future__ import annotations

from openlytics.render import render_pdf, render_png, render_svg, visualization_spec
from openlytics.render.counter import counter_values
from openlytics.render.pivot import pivot_table
from openlytics.render.tables import TABLE_ROW_LIMIT, table_columns
from tests.render.samples import ROWS, is_pdf, png_size, view


def test_table_shows_the_saved_columns_in_order_with_their_titles() -> None:
    table = view(
        "TABLE",
        columns=[
            {"name": "day", "title": "Day", "visible": True, "order": 1},
            {"name": "region", "visible": False, "order": 0},
            {"name": "sales", "title": "Sales ($)", "order": 0},
        ],
    )
    assert [(c.name, c.title) for c in table_columns(table)] == [("sales", "Sales ($)"), ("day", "Day")]

    spec = visualization_spec(table)
    assert spec["encoding"]["x"]["sort"] == ["Sales ($)", "Day"]
    assert {c["column"] for c in spec["data"]["values"]} == {"Sales ($)", "Day"}
    assert spec["data"]["values"][:2] == [
        {"row": 0, "column": "Sales ($)", "text": "3"},
        {"row": 0, "column": "Day", "text": "2024-01-01"},
    ]
    svg = render_svg(spec)
    assert "Sales ($)" in svg and "2024-01-10" in svg and "north" not in svg
    assert is_pdf(render_pdf(spec))


def test_table_without_saved_columns_shows_every_column() -> None:
    spec = visualization_spec(view("TABLE"))

    assert spec["encoding"]["x"]["sort"] == ["day", "region", "sales", "profit", "orders"]
    assert len(spec["data"]["values"]) == 5 * len(ROWS)
    assert spec["title"] == "Sales"
    width, height = png_size(render_png(spec))
    assert width >= 5 * 120 and height >= len(ROWS) * 20


def test_a_long_table_shows_its_first_rows_and_how_many_more_there_are() -> None:
    rows = tuple({"day": f"2024-02-{1 + i % 28:02d}", "sales": i} for i in range(70))
    spec = visualization_spec(view("TABLE", data=rows, columns=[{"name": "sales"}]))

    assert len(spec["data"]["values"]) == TABLE_ROW_LIMIT
    assert spec["title"] == {"text": "Sales", "subtitle": "… 20 more rows"}
    assert "20 more rows" in render_svg(spec)


def test_a_table_without_rows_says_so() -> None:
    spec = visualization_spec(view("TABLE", data=()))
    assert spec["data"]["values"] == [{"text": "No rows"}]


def test_pivot_aggregates_values_by_rows_and_columns() -> None:
    sums = pivot_table(view("PIVOT", aggregatorName="Sum", rows=["day"], cols=["region"], vals=["sales"]))
    averages = pivot_table(view("PIVOT", aggregatorName="Average", rows=["region"], vals=["profit"]))
    maxima = pivot_table(view("PIVOT", aggregatorName="Maximum", rows=["region"], vals=["sales"]))
    minima = pivot_table(view("PIVOT", aggregatorName="Minimum", cols=["region"], vals=["orders"]))

    assert sums.row_titles[:2] == ["2024-01-01", "2024-01-02"]
    assert sums.column_titles == ["north", "south"]
    assert sums.values[("2024-01-03", "north")] == 9
    assert sums.values[("2024-01-03", "south")] == 6
    assert averages.values[("north", "Average of profit")] == 6.875
    assert maxima.values == {("north", "Maximum of sales"): 30, ("south", "Maximum of sales"): 20}
    assert minima.values == {("All", "north"): 6, ("All", "south"): 1}


def test_pivot_is_a_shaded_grid_of_text() -> None:
    spec = visualization_spec(
        view("PIVOT", rows=["day"], cols=["region"], vals=["sales"], aggregatorName="Sum")
    )

    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    assert spec["encoding"]["y"]["sort"][0] == "2024-01-01"
    cell = next(c for c in spec["data"]["values"] if c["row"] == "2024-01-10" and c["column"] == "north")
    assert (cell["text"], cell["shade"]) == ("30", 1.0)
    svg = render_svg(spec)
    assert 'class="mark-rect' in svg and ">30<" in svg
    assert png_size(render_png(spec))[0] > 0
    assert is_pdf(render_pdf(spec))


def test_pivot_without_options_counts_rows_by_the_first_column() -> None:
    table = pivot_table(view("PIVOT"))

    assert table.column_titles == ["Count"]
    assert table.values[("2024-01-01", "Count")] == 2
    assert len(table.row_titles) == 10


def test_counter_shows_a_cell_and_its_target() -> None:
    counter = view(
        "COUNTER",
        counterColName="sales",
        rowNumber=20,
        targetColName="sales",
        targetRowNumber=1,
        stringPrefix="$",
        stringSuffix=" k",
    )
    values = counter_values(counter)
    assert (values.label, values.value, values.target, values.trend) == ("Sales", "$20 k", "$3 k", "up")

    spec = visualization_spec(counter, width=300, height=150)
    assert [r["text"] for r in spec["data"]["values"]] == ["Sales", "$20 k", "$3 k"]
    assert spec["data"]["values"][1]["color"] == "#2e7d32"
    svg = render_svg(spec)
    assert "$20 k" in svg
    assert png_size(render_png(spec)) >= (300, 150)


def test_counter_defaults_to_the_first_cell() -> None:
    assert counter_values(view("COUNTER")).value == "2024-01-01"


def test_counter_formats_numbers_as_saved() -> None:
    rows = ({"profit": "1234567.891"},)  # a decimal column, as text
    counter = view("COUNTER", data=rows, counterColName="profit", stringDecimal=1)
    assert counter_values(counter).value == "1,234,567.9"
    european = view(
        "COUNTER", data=rows, counterColName="profit", stringDecimal=2, stringDecChar=",", stringThouSep="."
    )
    assert counter_values(european).value == "1.234.567,89"


def test_counter_of_a_missing_row_shows_a_dash() -> None:
    assert counter_values(view("COUNTER", counterColName="sales", rowNumber=99)).value == "\u2013"
