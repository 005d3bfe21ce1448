"""Building the SELECT of a structured query with sqlglot's expression builders (never SQL text).

Semantics (see docs/structured-queries.md): a query with a group_by or any aggregate is aggregated,
and then selected names without an aggregate are grouped as if listed in group_by; a name grouped
by a time slot is selected as that time slot; `!=` and `!in` keep rows whose value is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from openlytics.core.datasets.structured_formula import Formula, formula_expression
from openlytics.core.datasets.structured_model import (
    COUNT_COLUMN,
    DIALECTS,
    LIST_OPERATORS,
    PRESENCE_OPERATORS,
    Condition,
    GroupItem,
    OrderItem,
    SelectItem,
    StructuredQuery,
)
from openlytics.core.datasets.structured_types import NUMERIC, TypeFamily, literal, type_family
from openlytics.core.errors import InvalidInputError

_TRUNCATED_TO_DATE = frozenset({"quarter", "month", "week", "day"})
_EXTRACTED = {"year": "YEAR", "weekday": "ISODOW"}
_COMPARE = {"<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE, "==": exp.EQ, "!=": exp.NullSafeNEQ}


def sqlglot_dialect(name: str) -> str:
    """The sqlglot dialect for one of DIALECTS' names."""
    if name not in DIALECTS:
        raise InvalidInputError("dialect", f"one of {', '.join(DIALECTS)}")
    return DIALECTS[name]


def table_expression(table: str, schema: str | None) -> exp.Table:
    """A quoted (schema.)table."""
    if not table:
        raise InvalidInputError("table", "a non-empty name")
    db = exp.to_identifier(schema, quoted=True) if schema else None
    return exp.Table(this=exp.to_identifier(table, quoted=True), db=db)


def _quoted(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


@dataclass(frozen=True)
class _Term:
    """A name resolved: a column, a measure's expression, or the row count."""

    expression: exp.Expr
    logical_type: str
    family: TypeFamily
    is_count: bool = False


@dataclass(frozen=True)
class _Value:
    """A computed output or ordering key."""

    expression: exp.Expr
    logical_type: str
    is_aggregate: bool


class SqlBuilder:
    """Resolves names against a table's columns and measures and builds expressions in one dialect."""

    def __init__(self, columns: Mapping[str, str], measures: Mapping[str, Formula], dialect: str) -> None:
        if not isinstance(columns, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise InvalidInputError("columns", "a mapping of column name -> logical type")
        self.columns = dict(columns)
        self.measures = measures
        self.dialect = dialect
        self.outputs: list[tuple[str, str]] = []

    # names --------------------------------------------------------------------------------------
    def term(self, name: str, field: str) -> _Term:
        """A column (first), the row count, or a measure; InvalidInputError naming an unknown name."""
        if name in self.columns:
            logical = self.columns[name]
            return _Term(_quoted(name), logical, type_family(logical))
        if name == COUNT_COLUMN:
            return _Term(exp.Count(this=exp.Star()), "int64", TypeFamily.INTEGER, is_count=True)
        if name in self.measures:
            return self._measure(name, field)
        raise InvalidInputError(field, f"unknown column {name!r}")

    def _measure(self, name: str, field: str) -> _Term:
        def family(column: str) -> TypeFamily:
            if column not in self.columns:
                raise InvalidInputError(field, f"measure {name!r} reads unknown column {column!r}")
            return type_family(self.columns[column])

        expression, result = formula_expression(self.measures[name], family, field=field)
        logical = "int64" if result is TypeFamily.INTEGER else "float64"
        return _Term(exp.Paren(this=expression), logical, result)

    def aggregate(self, term: _Term, agg: str | None, field: str) -> _Value:
        """`agg` over a term, with the type the aggregate yields on every engine (casts make it so)."""
        if term.is_count:
            if agg not in (None, "sum", "count"):
                raise InvalidInputError(field, f"{COUNT_COLUMN} takes sum or count, not {agg}")
            return _Value(term.expression.copy(), "int64", True)
        e = term.expression.copy()
        if agg in ("sum", "avg") and term.family not in NUMERIC:
            raise InvalidInputError(field, f"{agg} needs a numeric column, not {term.logical_type}")
        if agg == "sum" and term.family is TypeFamily.DECIMAL:
            return _Value(exp.Sum(this=e), term.logical_type, True)
        if agg == "sum" and term.family is TypeFamily.INTEGER:
            return _Value(exp.cast(exp.Sum(this=e), exp.DataType.Type.BIGINT), "int64", True)
        if agg == "sum":
            return _Value(exp.cast(exp.Sum(this=e), exp.DataType.Type.DOUBLE), "float64", True)
        if agg == "avg":
            return _Value(exp.cast(exp.Avg(this=e), exp.DataType.Type.DOUBLE), "float64", True)
        if agg in ("min", "max"):
            return _Value(exp.Min(this=e) if agg == "min" else exp.Max(this=e), term.logical_type, True)
        if agg == "count":
            return _Value(exp.Count(this=e), "int64", True)
        return _Value(exp.Count(this=exp.Distinct(expressions=[e])), "int64", True)

    def timeslot(self, term: _Term, slot: str, field: str) -> _Value:
        """A date or datetime cut into a time slot: year and weekday extracted, the rest truncated."""
        if term.family not in (TypeFamily.DATE, TypeFamily.DATETIME):
            raise InvalidInputError(field, f"timeslot {slot} needs a date or datetime column")
        moment = term.expression.copy()
        if term.family is TypeFamily.DATE:
            moment = exp.cast(moment, exp.DataType.Type.TIMESTAMP)
        if slot in _EXTRACTED:
            extracted = exp.Extract(this=exp.var(_EXTRACTED[slot]), expression=moment)
            return _Value(exp.cast(extracted, exp.DataType.Type.BIGINT), "int64", False)
        truncated = exp.TimestampTrunc(this=moment, unit=exp.var(slot.upper()))
        if slot in _TRUNCATED_TO_DATE:
            return _Value(exp.cast(truncated, exp.DataType.Type.DATE), "date", False)
        return _Value(truncated, "datetime", False)

    def value(
        self, name: str, agg: str | None, timeslot: str | None, field: str, slots: Mapping[str, str]
    ) -> _Value:
        """A selected or ordering name: aggregated, cut into a time slot, or as it is."""
        term = self.term(name, field)
        if agg or term.is_count:
            return self.aggregate(term, agg, field)
        slot = timeslot or slots.get(name)
        if slot:
            return self.timeslot(term, slot, field)
        return _Value(term.expression.copy(), term.logical_type, False)

    # the statement ------------------------------------------------------------------------------
    def select(self, query: StructuredQuery, table: exp.Table) -> exp.Select:
        """The whole statement; fills `outputs` with (name, logical type) in select order."""
        groups, slots = self._groups(query.group_by)
        items = query.select or self._default_select(query)
        selected = [self._selected(s, f"select[{i}].name", slots) for i, s in enumerate(items)]
        orders = [self._ordering(o, f"order_by[{i}].name", slots) for i, o in enumerate(query.order_by)]
        if groups or any(v.is_aggregate for v in [*selected, *(v for v, _ in orders)]):
            self._group_plain_values(groups, selected, [v for v, _ in orders])

        statement = exp.Select().from_(table, copy=False)
        aliases: set[str] = set()
        for item, value in zip(items, selected, strict=True):
            alias = exp.to_identifier(_unique_alias(item, aliases), quoted=True)
            statement = statement.select(exp.alias_(value.expression, alias), copy=False)
            self.outputs.append((item.name, value.logical_type))
        if query.where:
            statement = statement.where(self.where(query.where), copy=False)
        if groups:
            statement = statement.group_by(*groups.values(), copy=False)
        if orders:
            ordered = (exp.Ordered(this=v.expression, desc=desc, nulls_first=False) for v, desc in orders)
            statement = statement.order_by(*ordered, copy=False)
        if query.limit is not None:
            statement = statement.limit(exp.Literal.number(query.limit), copy=False)
        return statement

    def _groups(self, items: Sequence[GroupItem]) -> tuple[dict[str, exp.Expr], dict[str, str]]:
        """Group expressions by their SQL, and the time slot a selected name takes from group_by."""
        groups: dict[str, exp.Expr] = {}
        slots: dict[str, str] = {}
        plain = {g.name for g in items if g.timeslot is None}
        for i, item in enumerate(items):
            field = f"group_by[{i}].name"
            term = self.term(item.name, field)
            if term.is_count:
                raise InvalidInputError(field, f"cannot group by {COUNT_COLUMN}")
            expression = (
                self.timeslot(term, item.timeslot, field).expression if item.timeslot else term.expression
            )
            groups.setdefault(self._key(expression), expression)
            if item.timeslot and item.name not in plain:
                slots.setdefault(item.name, item.timeslot)
        return groups, slots

    def _selected(self, item: SelectItem, field: str, slots: Mapping[str, str]) -> _Value:
        return self.value(item.name, item.agg_function, item.timeslot, field, slots)

    def _ordering(self, item: OrderItem, field: str, slots: Mapping[str, str]) -> tuple[_Value, bool]:
        return self.value(item.name, item.agg_function, item.timeslot, field, slots), item.direction == "desc"

    def _group_plain_values(
        self, groups: dict[str, exp.Expr], selected: Sequence[_Value], orders: Sequence[_Value]
    ) -> None:
        # Selected names without an aggregate are grouped, as if listed in group_by; ordering keys
        # must already be grouped or aggregated (grouping by them would change the rows).
        for value in selected:
            if not value.is_aggregate:
                groups.setdefault(self._key(value.expression), value.expression)
        for i, value in enumerate(orders):
            if not value.is_aggregate and self._key(value.expression) not in groups:
                raise InvalidInputError(f"order_by[{i}]", "order by a grouped column or an aggregate")

    def _default_select(self, query: StructuredQuery) -> tuple[SelectItem, ...]:
        if query.group_by:
            return tuple(SelectItem(g.name, timeslot=g.timeslot) for g in query.group_by)
        return tuple(SelectItem(name) for name in self.columns)

    def _key(self, expression: exp.Expr) -> str:
        return expression.sql(dialect=self.dialect)

    # conditions ---------------------------------------------------------------------------------
    def where(self, conditions: Sequence[Condition]) -> exp.Expr:
        """The conditions ANDed (TRUE when there are none)."""
        if not conditions:
            return exp.true()
        parts = [self.condition(c, f"where[{i}]") for i, c in enumerate(conditions)]
        return exp.and_(*(exp.paren(p, copy=False) for p in parts), copy=False)

    def condition(self, condition: Condition, field: str) -> exp.Expr:
        """One condition; values coerced to the column's type."""
        term = self.term(condition.name, f"{field}.name")
        if term.is_count:
            raise InvalidInputError(f"{field}.name", f"cannot filter on {COUNT_COLUMN}")
        e, op = term.expression, condition.op
        is_null = exp.Is(this=e.copy(), expression=exp.Null())
        if op in PRESENCE_OPERATORS:
            missing: exp.Expr = is_null
            if op in ("is_empty", "is_not_empty") and term.family is TypeFamily.STRING:
                blank = exp.EQ(this=e.copy(), expression=exp.Literal.string(""))
                missing = exp.or_(is_null, blank, copy=False)
            if op in ("is_not_defined", "is_empty"):
                return missing
            return exp.Not(this=exp.paren(missing, copy=False))
        field = f"{field}.value"
        if op in LIST_OPERATORS:
            values = [self._literal(v, term, field, condition.name) for v in condition.value]
            if op == "in":
                return exp.In(this=e.copy(), expressions=values) if values else exp.false()
            if not values:
                return exp.true()
            # A missing value is "not in" any list, as it is "!=" any value.
            return exp.or_(is_null, exp.Not(this=exp.In(this=e.copy(), expressions=values)), copy=False)
        value = self._literal(condition.value, term, field, condition.name)
        return _COMPARE[op](this=e.copy(), expression=value)

    def _literal(self, value: Any, term: _Term, field: str, name: str) -> exp.Expr:
        return literal(value, term.family, field=field, column=name, dialect=self.dialect)


def _unique_alias(item: SelectItem, taken: set[str]) -> str:
    alias = item.name
    if alias in taken and (item.agg_function or item.timeslot):
        alias = f"{item.agg_function or item.timeslot}({item.name})"
    base, n = alias, 2
    while alias in taken:
        alias, n = f"{base}_{n}", n + 1
    taken.add(alias)
    return alias
