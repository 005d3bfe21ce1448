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
