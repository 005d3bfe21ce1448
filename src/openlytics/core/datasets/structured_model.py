"""The vocabulary of structured queries and their typed model (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openlytics.core.datasets.structured_formula import Formula

AGGREGATES = ("sum", "min", "max", "avg", "count", "dcount")
TIMESLOTS = ("year", "quarter", "month", "week", "weekday", "day", "hour", "minute")
COMPARISONS = ("<", ">", "<=", ">=", "!=", "==")
LIST_OPERATORS = ("in", "!in")
PRESENCE_OPERATORS = ("is_defined", "is_not_defined", "is_empty", "is_not_empty")
OPERATORS = COMPARISONS + LIST_OPERATORS + PRESENCE_OPERATORS
DIRECTIONS = ("asc", "desc")
RESULT_ORDERS = ("row_by_row", "column_by_column")
#: The special column counting rows (with `sum` or `count`, or alone).
COUNT_COLUMN = "$$count$$"
#: Accepted dialect names -> sqlglot dialect.
DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "postgresql": "postgres"}


@dataclass(frozen=True)
class SelectItem:
    """A selected column, measure or `$$count$$`, optionally aggregated or cut into a time slot."""

    name: str
    agg_function: str | None = None
    timeslot: str | None = None


@dataclass(frozen=True)
class GroupItem:
    """A grouping column, optionally by time slot."""

    name: str
    timeslot: str | None = None


@dataclass(frozen=True)
class Condition:
    """`name op value`; `value` is a tuple for `in`/`!in` and None for the presence operators."""

    name: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class OrderItem:
    """An ordering key: a column, a measure or an aggregate, ascending or descending."""

    name: str
    agg_function: str | None = None
    direction: str = "asc"
    timeslot: str | None = None


@dataclass(frozen=True)
class StructuredQuery:
    """A parsed structured query; names are checked against a table's columns when compiled."""

    select: tuple[SelectItem, ...] = ()
    group_by: tuple[GroupItem, ...] = ()
    where: tuple[Condition, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    measures: Mapping[str, Formula] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text and the (name, logical type) of each output column, in select order."""

    sql: str
    output_columns: list[tuple[str, str]]
