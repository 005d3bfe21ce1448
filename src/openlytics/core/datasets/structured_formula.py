"""Measures: named formulas over a dataset's columns, in a tiny grammar parsed into sqlglot expressions.

    formula := sum
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | "+" unary | atom
    atom    := number | "[" column name "]" | "(" sum ")"

Anything else (functions, strings, SQL) is an `InvalidInputError`. Division is always in floating
point and a division by zero gives NULL, on every engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlglot import exp

from openlytics.core.datasets.structured_types import NUMERIC, TypeFamily
from openlytics.core.errors import InvalidInputError

MAX_FORMULA_LENGTH = 2_000
MAX_DEPTH = 50

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?|\.\d+)|\[(?P<column>[^\[\]]*)\]|(?P<op>[-+*/()]))")


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, the columns it reads, and its tree with columns as placeholders."""

    text: str
    columns: tuple[str, ...]
    tree: exp.Expr


def parse_formula(text: object, *, field: str) -> Formula:
    """Parse a formula such as `2 * [sales]`; InvalidInputError(field, ...) when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(field, "a formula such as 2 * [sales]")
    if len(text) > MAX_FORMULA_LENGTH:
        raise InvalidInputError(field, f"at most {MAX_FORMULA_LENGTH} characters")
    parser = _Parser(_tokens(text, field), field)
    tree = parser.sum(0)
    parser.expect_end()
    return Formula(text=text, columns=tuple(dict.fromkeys(parser.columns)), tree=tree)


def formula_expression(
    formula: Formula, column_type: Callable[[str], TypeFamily], *, field: str
) -> tuple[exp.Expr, TypeFamily]:
    """The formula over real columns, and its type family (INTEGER or FLOAT).

    Integer columns are widened to BIGINT (so `2 * [x]` cannot overflow a 32-bit column); with a
    division, a decimal literal or a non-integer column the whole formula is computed in DOUBLE.
    """
    families = {name: column_type(name) for name in formula.columns}
    for name, family in families.items():
        if family not in NUMERIC:
            raise InvalidInputError(field, f"column {name!r} is not numeric")
    in_float = (
        any(f is not TypeFamily.INTEGER for f in families.values())
        or any(isinstance(node, exp.Div) for node in formula.tree.walk())
        or any(isinstance(node, exp.Literal) and "." in node.this for node in formula.tree.walk())
    )
    target = exp.DataType.Type.DOUBLE if in_float else exp.DataType.Type.BIGINT

    def real(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            return exp.cast(exp.column(exp.to_identifier(node.name, quoted=True)), target)
        return node

    expression = formula.tree.copy().transform(real)
    return expression, TypeFamily.FLOAT if in_float else TypeFamily.INTEGER


def parse_measures(measures: Mapping[str, str] | None, *, field: str = "measures") -> dict[str, Formula]:
    """Parse a mapping of measure name -> formula text."""
    if measures is None:
        return {}
    if not isinstance(measures, Mapping):
        raise InvalidInputError(field, "an object of name -> formula")
    parsed: dict[str, Formula] = {}
    for name, text in measures.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError(field, "measure names must be non-empty strings")
        parsed[name] = parse_formula(text, field=f"{field}.{name}")
    return parsed


def _tokens(text: str, field: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:
            raise InvalidInputError(
                field, f"unexpected {text[position:].strip()[:20]!r} at position {position}"
            )
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], field: str) -> None:
        self.tokens = tokens
        self.position = 0
        self.field = field
        self.columns: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise InvalidInputError(self.field, "the formula ends too early")
        self.position += 1
        return token

    def expect_end(self) -> None:
        token = self.peek()
        if token is not None:
            raise InvalidInputError(self.field, f"unexpected {token[1]!r}")

    def sum(self, depth: int) -> exp.Expr:
        left = self.product(depth)
        while (token := self.peek()) is not None and token[1] in ("+", "-"):
            self.take()
            right = self.product(depth)
            left = (
                exp.Add(this=left, expression=right)
                if token[1] == "+"
                else exp.Sub(this=left, expression=right)
            )
        return left

    def product(self, depth: int) -> exp.Expr:
        left = self.unary(depth)
        while (token := self.peek()) is not None and token[1] in ("*", "/"):
            self.take()
            right = self.unary(depth)
            if token[1] == "*":
                left = exp.Mul(this=left, expression=right)
            else:
                left = exp.Div(
                    this=exp.cast(left, exp.DataType.Type.DOUBLE),
                    expression=exp.Nullif(this=right, expression=exp.Literal.number(0)),
                )
        return left

    def unary(self, depth: int) -> exp.Expr:
        if depth > MAX_DEPTH:
            raise InvalidInputError(self.field, f"nested more than {MAX_DEPTH} levels deep")
        token = self.peek()
        if token is not None and token[1] in ("-", "+"):
            self.take()
            operand = self.unary(depth + 1)
            return exp.Neg(this=operand) if token[1] == "-" else operand
        return self.atom(depth)

    def atom(self, depth: int) -> exp.Expr:
        kind, value = self.take()
        if kind == "number":
            return exp.Literal.number(value)
        if kind == "column":
            name = value.strip()
            if not name:
                raise InvalidInputError(self.field, "empty column reference []")
            self.columns.append(name)
            return exp.column(exp.to_identifier(name, quoted=True))
        if value == "(":
            inner = self.sum(depth + 1)
            if self.take()[1] != ")":
                raise InvalidInputError(self.field, "missing )")
            return exp.Paren(this=inner)
        raise InvalidInputError(self.field, f"unexpected {value!r}")
