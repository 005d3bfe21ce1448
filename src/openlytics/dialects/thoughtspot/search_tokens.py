"""ThoughtSpot's search-token language (`[Region] [Sales] top 5`) -> the core's structured query.

A bracketed column is an attribute (grouped by) unless it is numeric: then it is a measure,
summed. An aggregate word (`sum`, `average`, `count`, `min`, `max`, `unique count`) before a
column, or inside its brackets, chooses the aggregate. `[Date].monthly` (`.hourly`, `.daily`,
`.weekly`, `.quarterly`, `.yearly`, `.'day of week'`) groups a date by that bucket. `[Column] <op>
value` filters (`after`/`before` are `>`/`<`, `[Column] between a and b` keeps a range); several
`=` filters on one column keep any of their values (`!=`: none of them), other filters must all
hold. `top N` / `bottom N` keep the N rows with the largest / smallest first measure; `sort by
[Column] ascending|descending` orders. Anything else is refused naming the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openlytics.core.datasets.column_types import ALIASES
from openlytics.core.datasets.structured_query import (
    Condition,
    GroupItem,
    OrderItem,
    SelectItem,
    StructuredQuery,
)
from openlytics.core.errors import InvalidInputError

FIELD = "query_string"
NUMERIC = ("int32", "int64", "float32", "float64")
AGGREGATES = {
    "sum": "sum",
    "total": "sum",
    "average": "avg",
    "avg": "avg",
    "count": "count",
    "min": "min",
    "minimum": "min",
    "max": "max",
    "maximum": "max",
    "unique count": "dcount",
}
OPERATORS = {"=": "==", "!=": "!=", "<>": "!=", ">": ">", "<": "<", ">=": ">=", "<=": "<="}
WORD_OPERATORS = {"after": ">", "before": "<"}
BUCKETS = {
    "hourly": "hour",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
    "day of week": "weekday",
}
DIRECTIONS = {"ascending": "asc", "asc": "asc", "descending": "desc", "desc": "desc"}
_TOKEN = re.compile(
    r"""\s*(?:\[(?P<column>[^\]]*)\]|'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<op>>=|<=|!=|<>|=|<|>)"""
    r"""|(?P<word>[^\s\[\]'"=<>!]+)|(?P<bad>\S))"""
)


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind (column, text, op, word) and text as written."""

    kind: str
    text: str


def tokenize(query_string: str) -> list[Token]:
    """The tokens of a search; an unclosed bracket or quote is refused."""
    tokens = []
    for match in _TOKEN.finditer(query_string):
        kind = match.lastgroup
        if kind == "bad":
            raise InvalidInputError(FIELD, f"cannot read {query_string[match.start(kind) :]!r}")
        if kind in ("single", "double"):
            tokens.append(Token("text", match.group(kind)))
        elif kind is not None:
            tokens.append(Token(kind, match.group(kind)))
    return tokens


def parse_search(query_string: str, columns: Mapping[str, str]) -> StructuredQuery:
    """A search over a table with these columns (name -> logical type) as a structured query."""
    return _Parser(tokenize(query_string or ""), columns).parse()


class _Parser:
    def __init__(self, tokens: list[Token], columns: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.columns = columns
        self.by_lower = {name.lower(): name for name in columns}
        self.select: list[SelectItem] = []
        self.where: list[Condition] = []
        self.order: list[OrderItem] = []
        self.limit: int | None = None
        self.top: str | None = None

    def parse(self) -> StructuredQuery:
        if not self.tokens:
            raise InvalidInputError(FIELD, "an empty search: name at least one [column]")
        while self.position < len(self.tokens):
            self._clause()
        if not self.select:
            raise InvalidInputError(FIELD, "no column to show: name at least one [column] outside filters")
        measures = [s for s in self.select if s.agg_function]
        # Attributes alone answer their distinct combinations, as ThoughtSpot does.
        groups = tuple(GroupItem(s.name, s.timeslot) for s in self.select if not s.agg_function)
        if self.top is not None:
            if not measures:
                raise InvalidInputError(FIELD, f"{self.top} N needs a measure (a numeric column)")
            first = measures[0]
            direction = "desc" if self.top == "top" else "asc"
            self.order.insert(0, OrderItem(first.name, first.agg_function, direction))
        if not self.order:  # a stable answer: by the attributes shown
            self.order = [OrderItem(s.name, timeslot=s.timeslot) for s in self.select if not s.agg_function]
        return StructuredQuery(
            select=tuple(self.select),
            group_by=groups,
            where=_combined(self.where),
            order_by=tuple(self.order),
            limit=self.limit,
        )

    # ----- clauses ---------------------------------------------------------------------------------
    def _clause(self) -> None:
        token = self._next()
        word = token.text.lower() if token.kind == "word" else ""
        if word in ("top", "bottom"):
            self._top(word)
        elif word == "sort" and self._peek_word() == "by":
            self.position += 1
            self._sort()
        elif word == "unique" and self._peek_word() == "count":
            self.position += 1
            self._measure(AGGREGATES["unique count"], self._column_token("unique count"))
        elif word in AGGREGATES:
            self._measure(AGGREGATES[word], self._column_token(token.text))
        elif token.kind == "column":
            self._column(token)
        else:
            raise InvalidInputError(FIELD, f"unknown token {token.text!r}")

    def _column(self, token: Token) -> None:
        aggregate, name = self._split_aggregate(token.text)
        bucket = self._bucket(name)
        upcoming = self._peek()
        word = upcoming.text.lower() if upcoming is not None and upcoming.kind == "word" else ""
        if (upcoming is not None and upcoming.kind == "op") or word in WORD_OPERATORS or word == "between":
            if aggregate or bucket:
                raise InvalidInputError(FIELD, f"cannot filter on an aggregate or a bucket: [{token.text}]")
            self.position += 1
            if word == "between":
                self._between(name)
            else:
                assert upcoming is not None
                self._filter(name, WORD_OPERATORS.get(word) or OPERATORS[upcoming.text])
        elif bucket:
            if aggregate:
                raise InvalidInputError(FIELD, f"a bucket of an aggregate: [{token.text}]")
            self._add(SelectItem(name, timeslot=bucket))
        elif aggregate:
            self._measure(aggregate, name)
        elif self._numeric(name):
            self._measure("sum", name)
        else:
            self._add(SelectItem(name))

    def _measure(self, aggregate: str, name: str) -> None:
        if aggregate not in ("count", "dcount") and not self._numeric(name):
            raise InvalidInputError(FIELD, f"[{name}] is not numeric: it can only be counted")
        self._add(SelectItem(name, aggregate))

    def _add(self, item: SelectItem) -> None:
        if item not in self.select:
            self.select.append(item)

    def _filter(self, name: str, op: str) -> None:
        token = self._next(f"a value after [{name}]")
        if token.kind not in ("text", "word"):
            raise InvalidInputError(FIELD, f"a value after [{name}], not {token.text!r}")
        self.where.append(Condition(name, op, self._value(name, token)))

    def _between(self, name: str) -> None:
        low = self._next(f"a value after [{name}] between")
        if self._peek_word() != "and":
            raise InvalidInputError(FIELD, f"[{name}] between <value> and <value>")
        self.position += 1
        high = self._next(f"a value after [{name}] between ... and")
        for token, op in ((low, ">="), (high, "<=")):
            if token.kind not in ("text", "word"):
                raise InvalidInputError(FIELD, f"a value in [{name}] between, not {token.text!r}")
            self.where.append(Condition(name, op, self._value(name, token)))

    def _bucket(self, name: str) -> str | None:
        """`.monthly` (or `.'day of week'`) right after a date column: its time bucket."""
        upcoming = self._peek()
        if upcoming is None or upcoming.kind != "word" or not upcoming.text.startswith("."):
            return None
        self.position += 1
        text = upcoming.text[1:].lower()
        if not text:  # `[Date].'day of week'`: the bucket is the quoted text that follows
            quoted = self._next(f"a bucket after [{name}].")
            text = quoted.text.lower()
        if text not in BUCKETS:
            raise InvalidInputError(FIELD, f"unknown bucket [{name}].{text} (one of {', '.join(BUCKETS)})")
        if self._type(name) not in ("date", "datetime"):
            raise InvalidInputError(FIELD, f"[{name}] is not a date: it has no .{text}")
        return BUCKETS[text]

    def _value(self, name: str, token: Token) -> Any:
        if not self._numeric(name):
            return token.text
        try:
            number = float(token.text)
        except ValueError:
            raise InvalidInputError(FIELD, f"[{name}] is numeric, not {token.text!r}") from None
        return int(number) if number.is_integer() and self._type(name).startswith("int") else number

    def _top(self, word: str) -> None:
        token = self._next(f"a number after {word}")
        if token.kind != "word" or not token.text.isdecimal() or int(token.text) < 1:
            raise InvalidInputError(FIELD, f"a positive number after {word}, not {token.text!r}")
        self.top, self.limit = word, int(token.text)

    def _sort(self) -> None:
        token = self._next("a [column] after sort by")
        if token.kind != "column":
            raise InvalidInputError(FIELD, f"a [column] after sort by, not {token.text!r}")
        aggregate, name = self._split_aggregate(token.text)
        if aggregate is None and self._numeric(name):
            aggregate = "sum"
        direction = "desc" if aggregate else "asc"
        following = self._peek_word()
        if following in DIRECTIONS:
            self.position += 1
            direction = DIRECTIONS[following]
        if aggregate and SelectItem(name, aggregate) not in self.select:
            self._add(SelectItem(name, aggregate))
        self.order.append(OrderItem(name, aggregate, direction))

    def _type(self, name: str) -> str:
        kind = str(self.columns[name]).lower()
        return ALIASES.get(kind, kind)

    def _numeric(self, name: str) -> bool:
        return self._type(name) in NUMERIC

    # ----- tokens ----------------------------------------------------------------------------------
    def _column_token(self, before: str) -> str:
        token = self._next(f"a [column] after {before}")
        if token.kind != "column":
            raise InvalidInputError(FIELD, f"a [column] after {before}, not {token.text!r}")
        aggregate, name = self._split_aggregate(token.text)
        if aggregate:
            raise InvalidInputError(FIELD, f"two aggregates: {before} [{token.text}]")
        return name

    def _split_aggregate(self, text: str) -> tuple[str | None, str]:
        """`sum Sales` -> ("sum", "Sales"); a column whose name starts with a word wins."""
        stripped = " ".join(text.split())
        if stripped.lower() in self.by_lower:
            return None, self.by_lower[stripped.lower()]
        for word, aggregate in AGGREGATES.items():
            if stripped.lower().startswith(word + " "):
                rest = stripped[len(word) + 1 :].lower()
                if rest in self.by_lower:
                    return aggregate, self.by_lower[rest]
        raise InvalidInputError(FIELD, f"unknown column [{text}]")

    def _next(self, wanted: str = "more") -> Token:
        if self.position >= len(self.tokens):
            raise InvalidInputError(FIELD, f"the search ends where {wanted} was expected")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _peek_word(self) -> str:
        token = self._peek()
        return token.text.lower() if token is not None and token.kind == "word" else ""


def _combined(conditions: list[Condition]) -> tuple[Condition, ...]:
    """Several `=` filters on one column keep any of their values (`in`), several `!=` none of
    them; filters stay in the order written."""
    values: dict[tuple[str, str], list[Any]] = {}
    for condition in conditions:
        if condition.op in ("==", "!="):
            values.setdefault((condition.name, condition.op), []).append(condition.value)
    merged: list[Condition] = []
    done: set[tuple[str, str]] = set()
    for condition in conditions:
        key = (condition.name, condition.op)
        if key in done:
            continue
        if key not in values:
            merged.append(condition)
            continue
        done.add(key)
        unique = tuple(dict.fromkeys(values[key]))
        joined = "in" if condition.op == "==" else "!in"
        merged.append(condition if len(unique) == 1 else Condition(condition.name, joined, unique))
    return tuple(merged)
