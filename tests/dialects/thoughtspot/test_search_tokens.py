"""The search-token language, parsed into the core's structured query (no server)."""

from __future__ import annotations

import pytest

from openlytics.core.datasets.structured_query import Condition, GroupItem, OrderItem, SelectItem
from openlytics.core.errors import InvalidInputError
from openlytics.dialects.thoughtspot.search_tokens import parse_search, tokenize

COLUMNS = {"Region": "string", "Product": "string", "Sales": "float64", "Units": "int"}


def test_an_attribute_and_a_numeric_column_sum_by_the_attribute() -> None:
    query = parse_search("[Region] [Sales]", COLUMNS)
    assert query.select == (SelectItem("Region"), SelectItem("Sales", "sum"))
    assert query.group_by == (GroupItem("Region"),)
    assert query.order_by == (OrderItem("Region"),)
    assert query.limit is None


def test_aggregate_words_before_or_inside_the_brackets() -> None:
    query = parse_search(
        "[region] average [Sales] [max units] unique count [Product] count [Region]", COLUMNS
    )
    assert query.select == (
        SelectItem("Region"),
        SelectItem("Sales", "avg"),
        SelectItem("Units", "max"),
        SelectItem("Product", "dcount"),
        SelectItem("Region", "count"),
    )


def test_filters_quoted_or_bare_and_numeric_comparisons() -> None:
    query = parse_search("[Product] [Sales] [Region] = 'West' [Units] >= 2 [Product] != Pen", COLUMNS)
    assert query.select == (SelectItem("Product"), SelectItem("Sales", "sum"))
    assert query.where == (
        Condition("Region", "==", "West"),
        Condition("Units", ">=", 2),
        Condition("Product", "!=", "Pen"),
    )


def test_top_and_bottom_sort_on_the_first_measure() -> None:
    top = parse_search("[Region] [Sales] top 2", COLUMNS)
    assert top.order_by == (OrderItem("Sales", "sum", "desc"),) and top.limit == 2
    bottom = parse_search("bottom 1 [Region] [Units]", COLUMNS)
    assert bottom.order_by == (OrderItem("Units", "sum", "asc"),) and bottom.limit == 1


def test_sort_by_with_a_direction() -> None:
    query = parse_search("[Region] [Sales] sort by [Region] descending", COLUMNS)
    assert query.order_by == (OrderItem("Region", None, "desc"),)
    measure = parse_search("[Region] [Sales] sort by [Sales]", COLUMNS)
    assert measure.order_by == (OrderItem("Sales", "sum", "desc"),)


def test_tokens_keep_quoted_text_and_operators() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("[a b] <= 'x y' top 3")]
    assert kinds == [("column", "a b"), ("op", "<="), ("text", "x y"), ("word", "top"), ("word", "3")]


@pytest.mark.parametrize(
    ("search", "named"),
    [
        ("[Region] [Nope]", "[Nope]"),
        ("[Region] banana", "'banana'"),
        ("[Region] [Sales] top", "top"),
        ("[Region] [Sales] top x", "'x'"),
        ("[Region] top 3", "top N needs a measure"),
        ("[Region] = ", "a value after [Region]"),
        ("[Sales] > abc [Region]", "'abc'"),
        ("sum [Region]", "[Region] is not numeric"),
        ("[Region", "cannot read"),
        ("", "empty search"),
        ("[Region] = West", "no column to show"),
        ("sort by Region", "'Region'"),
    ],
)
def test_bad_searches_are_refused_naming_the_token(search: str, named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_search(search, COLUMNS)
    assert caught.value.field == "query_string"
    assert named in str(caught.value)


DATED = {**COLUMNS, "Day": "date", "At": "datetime"}


def test_date_buckets_group_by_time_slot() -> None:
    query = parse_search("[Day].monthly [Sales]", DATED)
    assert query.select == (SelectItem("Day", timeslot="month"), SelectItem("Sales", "sum"))
    assert query.group_by == (GroupItem("Day", "month"),)
    assert query.order_by == (OrderItem("Day", timeslot="month"),)
    weekday = parse_search("[At].'day of week' count [Product]", DATED)
    assert weekday.group_by == (GroupItem("At", "weekday"),)
    with pytest.raises(InvalidInputError, match="not a date"):
        parse_search("[Region].monthly", DATED)
    with pytest.raises(InvalidInputError, match="unknown bucket"):
        parse_search("[Day].fortnightly", DATED)


def test_equal_filters_on_one_column_keep_any_value_and_others_all_hold() -> None:
    query = parse_search("[Region] [Sales] [Region] = West [Units] > 1 [Region] = 'East'", DATED)
    assert query.where == (Condition("Region", "in", ("West", "East")), Condition("Units", ">", 1))
    excluded = parse_search("[Region] [Product] != Pen [Product] != Ink", DATED)
    assert excluded.where == (Condition("Product", "!in", ("Pen", "Ink")),)


def test_after_before_and_between_filter_dates_and_numbers() -> None:
    query = parse_search("[Region] [Day] after '2024-01-01' [Day] before 2024-12-31", DATED)
    assert query.where == (Condition("Day", ">", "2024-01-01"), Condition("Day", "<", "2024-12-31"))
    ranged = parse_search("[Region] [Units] between 2 and 5", DATED)
    assert ranged.where == (Condition("Units", ">=", 2), Condition("Units", "<=", 5))
    with pytest.raises(InvalidInputError, match="between <value> and <value>"):
        parse_search("[Region] [Units] between 2 5", DATED)
