"""The structured query language over datasets: parsing, compiling to SQL, shaping results.

A structured query selects columns (optionally aggregated), groups by columns (optionally by a time
slot), filters with ANDed conditions, orders (also by aggregates) and limits. It is compiled with
sqlglot's expression builders only: names become quoted identifiers, values become literals coerced
to their column's type, and no text from the query is ever pasted into SQL. The model lives in
`structured_model`, the SQL building in `structured_compiler`; see docs/structured-queries.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from openlytics.core.datasets.structured_compiler import SqlBuilder, sqlglot_dialect, table_expression
from openlytics.core.datasets.structured_formula import parse_measures
from openlytics.core.datasets.structured_model import (
    AGGREGATES,
    COUNT_COLUMN,
    DIALECTS,
    DIRECTIONS,
    LIST_OPERATORS,
    OPERATORS,
    PRESENCE_OPERATORS,
    RESULT_ORDERS,
    TIMESLOTS,
    CompiledQuery,
    Condition,
    GroupItem,
    OrderItem,
    SelectItem,
    StructuredQuery,
)
from openlytics.core.errors import InvalidInputError
from openlytics.results.formats import json_value

MAX_LIST_VALUES = 10_000
_QUERY_KEYS = frozenset({"select", "group_by", "where", "order_by", "limit", "measures"})
_COMMENT = re.compile(r"[\w .:=,-]*", re.ASCII)


# ----- parsing ------------------------------------------------------------------------------------
def parse_structured_query(payload: Mapping[str, Any]) -> StructuredQuery:
    """Validate a query given as JSON data; InvalidInputError(field, reason) on the first problem."""
    if not isinstance(payload, Mapping):
        raise InvalidInputError("query", "an object with select, group_by, where, order_by, limit")
    _only_keys(payload, _QUERY_KEYS, "query")
    return StructuredQuery(
        select=tuple(_select_item(v, f"select[{i}]") for i, v in enumerate(_items(payload, "select"))),
        group_by=tuple(_group_item(v, f"group_by[{i}]") for i, v in enumerate(_items(payload, "group_by"))),
        where=parse_conditions(payload.get("where")),
        order_by=tuple(_order_item(v, f"order_by[{i}]") for i, v in enumerate(_items(payload, "order_by"))),
        limit=_limit(payload.get("limit")),
        measures=parse_measures(payload.get("measures")),
    )


def parse_conditions(where: Any, *, field: str = "where") -> tuple[Condition, ...]:
    """Validate a list of `{name, op, value}` conditions (ANDed)."""
    if where is None:
        return ()
    if not isinstance(where, list | tuple):
        raise InvalidInputError(field, "a list of {name, op, value}")
    return tuple(_condition(item, f"{field}[{i}]") for i, item in enumerate(where))


def _items(payload: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = payload.get(key)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidInputError(key, "a list")
    return value


def _only_keys(item: Mapping[str, Any], allowed: frozenset[str], field: str) -> None:
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        raise InvalidInputError(
            field, f"unknown keys {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _name(item: Mapping[str, Any], field: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"{field}.name", "a non-empty string")
    return name


def _choice(item: Mapping[str, Any], key: str, choices: Sequence[str], field: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in choices:
        raise InvalidInputError(f"{field}.{key}", f"one of {', '.join(choices)}")
    return value.lower()


def _select_item(item: Any, field: str) -> SelectItem:
    if isinstance(item, str) and item:
        return SelectItem(item)
    if not isinstance(item, Mapping):
        raise InvalidInputError(field, "a column name or {name, agg_function}")
    _only_keys(item, frozenset({"name", "agg_function", "timeslot"}), field)
    selected = SelectItem(
        _name(item, field),
        _choice(item, "agg_function", AGGREGATES, field),
        _choice(item, "timeslot", TIMESLOTS, field),
    )
    if selected.agg_function and selected.timeslot:
        raise InvalidInputError(field, "either agg_function or timeslot, not both")
    return selected


def _group_item(item: Any, field: str) -> GroupItem:
    if isinstance(item, str) and item:
        return GroupItem(item)
    if not isinstance(item, Mapping):
        raise InvalidInputError(field, "a column name or {name, timeslot}")
    _only_keys(item, frozenset({"name", "timeslot"}), field)
    return GroupItem(_name(item, field), _choice(item, "timeslot", TIMESLOTS, field))


def _order_item(item: Any, field: str) -> OrderItem:
    if isinstance(item, str) and item:
        return OrderItem(item)
    if not isinstance(item, Mapping):
        raise InvalidInputError(field, "a column name or {name, agg_function, direction}")
    _only_keys(item, frozenset({"name", "agg_function", "direction", "timeslot"}), field)
    return OrderItem(
        _name(item, field),
        _choice(item, "agg_function", AGGREGATES, field),
        _choice(item, "direction", DIRECTIONS, field) or "asc",
        _choice(item, "timeslot", TIMESLOTS, field),
    )


def _condition(item: Any, field: str) -> Condition:
    if not isinstance(item, Mapping):
        raise InvalidInputError(field, "an object {name, op, value}")
    _only_keys(item, frozenset({"name", "op", "value"}), field)
    name = _name(item, field)
    op = item.get("op")
    if op not in OPERATORS:
        raise InvalidInputError(f"{field}.op", f"one of {' '.join(OPERATORS)}")
    value = item.get("value")
    if op in PRESENCE_OPERATORS:
        return Condition(name, op)
    if op in LIST_OPERATORS:
        return Condition(name, op, _list_value(value, f"{field}.value"))
    if not _is_scalar(value):
        raise InvalidInputError(f"{field}.value", "a string, number or boolean")
    return Condition(name, op, value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _list_value(value: Any, field: str) -> tuple[Any, ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInputError(
                field, f'{value[:40]!r} is not a JSON array such as \'["a", "b"]\''
            ) from None
    if not isinstance(value, list | tuple):
        raise InvalidInputError(field, "a list, or a JSON array as a string")
    if len(value) > MAX_LIST_VALUES:
        raise InvalidInputError(field, f"at most {MAX_LIST_VALUES} values")
    if not all(_is_scalar(v) for v in value):
        raise InvalidInputError(field, "every value must be a string, number or boolean")
    return tuple(value)


def _limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError("limit", "a non-negative integer")
    return value


# ----- compiling ----------------------------------------------------------------------------------
def compile_structured_query(
    query: StructuredQuery,
    *,
    table: str,
    columns: Mapping[str, str],
    dialect: str = "duckdb",
    measures: Mapping[str, str] | None = None,
    schema: str | None = None,
    comment: str | None = None,
) -> CompiledQuery:
    """SQL for `query` over `table` (optionally in `schema`) whose columns map name -> logical type.

    `measures` (name -> formula) add to the query's own. `comment` (letters, digits, ` .:=,-`) is
    put before the statement, e.g. to tell cached results of different dataset versions apart.
    """
    builder = SqlBuilder(columns, {**query.measures, **parse_measures(measures)}, sqlglot_dialect(dialect))
    statement = builder.select(query, table_expression(table, schema))
    if comment:
        if not _COMMENT.fullmatch(comment):
            raise InvalidInputError("comment", "letters, digits, spaces and . : = , - only")
        statement.add_comments([f" {comment} "])
    return CompiledQuery(statement.sql(dialect=builder.dialect), builder.outputs)


def compile_conditions(
    where: Sequence[Condition], *, columns: Mapping[str, str], dialect: str = "duckdb"
) -> str:
    """SQL of the ANDed conditions alone (for a DELETE ... WHERE), or TRUE when there are none."""
    builder = SqlBuilder(columns, {}, sqlglot_dialect(dialect))
    return builder.where(where).sql(dialect=builder.dialect)


# ----- results ------------------------------------------------------------------------------------
def shape_result(table: pa.Table, order: str = "row_by_row") -> list[list[Any]]:
    """Rows as lists (`row_by_row`) or columns as lists (`column_by_column`), JSON-ready values."""
    if order not in RESULT_ORDERS:
        raise InvalidInputError("order", f"one of {', '.join(RESULT_ORDERS)}")
    columns = [[json_value(v) for v in column.to_pylist()] for column in table.columns]
    if order == "column_by_column":
        return columns
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


__all__ = [
    "AGGREGATES",
    "COUNT_COLUMN",
    "DIALECTS",
    "OPERATORS",
    "RESULT_ORDERS",
    "TIMESLOTS",
    "CompiledQuery",
    "Condition",
    "GroupItem",
    "OrderItem",
    "SelectItem",
    "StructuredQuery",
    "compile_conditions",
    "compile_structured_query",
    "parse_conditions",
    "parse_structured_query",
    "shape_result",
]
