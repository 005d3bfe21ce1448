"""Logical column types as a structured query sees them, and filter values coerced into SQL literals.

Values arrive as JSON (a number may come as the string "20"); each is converted to the type of the
column it is compared with and becomes a literal built by sqlglot, so user text never becomes SQL text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from enum import StrEnum
from typing import Any

from sqlglot import exp

from openlytics.core.errors import InvalidInputError


class TypeFamily(StrEnum):
    """What a logical type behaves like in comparisons and aggregates."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    STRING = "string"
    OTHER = "other"


_FAMILIES: dict[str, TypeFamily] = {
    **dict.fromkeys(("int", "int8", "int16", "int32", "int64", "integer", "bigint"), TypeFamily.INTEGER),
    **dict.fromkeys(("float", "float32", "float64", "double"), TypeFamily.FLOAT),
    "decimal": TypeFamily.DECIMAL,
    **dict.fromkeys(("bool", "boolean"), TypeFamily.BOOLEAN),
    "date": TypeFamily.DATE,
    **dict.fromkeys(("datetime", "timestamp"), TypeFamily.DATETIME),
    **dict.fromkeys(("string", "str", "text"), TypeFamily.STRING),
}
NUMERIC = frozenset({TypeFamily.INTEGER, TypeFamily.FLOAT, TypeFamily.DECIMAL})

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def type_family(logical_type: str) -> TypeFamily:
    """The family of a logical type name (case-insensitive); unknown names are OTHER."""
    return _FAMILIES.get(logical_type.strip().lower(), TypeFamily.OTHER)


def literal(value: Any, family: TypeFamily, *, field: str, column: str, dialect: str) -> exp.Expr:
    """`value` converted to the type of `column` as a SQL literal; InvalidInputError naming the value."""
    if value is None:
        raise InvalidInputError(
            field, "a value is required (use is_defined or is_not_defined for missing values)"
        )
    if isinstance(value, (list, dict, tuple)):
        raise InvalidInputError(field, f"{_shown(value)} is not a single value")
    converters = {
        TypeFamily.INTEGER: _integer,
        TypeFamily.FLOAT: _float,
        TypeFamily.DECIMAL: _decimal,
        TypeFamily.BOOLEAN: _boolean,
        TypeFamily.DATE: _date,
        TypeFamily.DATETIME: _datetime,
        TypeFamily.STRING: lambda v: _string(v, dialect),
    }
    convert = converters.get(family)
    if convert is None:
        raise InvalidInputError(field, f"column {column!r} cannot be compared with a value")
    result = convert(value)
    if result is None:
        raise InvalidInputError(field, f"{_shown(value)} is not a valid {family.value} (column {column!r})")
    return result


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER_TEXT.fullmatch(text):
            return int(text)
        if _NUMBER_TEXT.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else None
    return None


def _number_literal(number: int | float) -> exp.Expr | None:
    if isinstance(number, int):
        return exp.Literal.number(number) if INT64_MIN <= number <= INT64_MAX else None
    return exp.Literal.number(repr(number))


def _integer(value: Any) -> exp.Expr | None:
    number = _number(value)
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        number = int(number)
    return None if number is None else _number_literal(number)


def _float(value: Any) -> exp.Expr | None:
    number = _number(value)
    return None if number is None else _number_literal(number)


def _decimal(value: Any) -> exp.Expr | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        value = str(value)
    if not isinstance(value, str) or not _NUMBER_TEXT.fullmatch(value.strip()):
        return None
    number = decimal.Decimal(value.strip())
    return exp.Literal.number(str(number)) if number.is_finite() else None


def _boolean(value: Any) -> exp.Expr | None:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    text = str(value).strip().lower() if isinstance(value, (int, str)) else ""
    if text in _TRUE:
        return exp.true()
    if text in _FALSE:
        return exp.false()
    return None


def _date(value: Any) -> exp.Expr | None:
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if not isinstance(value, str):
        return None
    try:
        return _date(dt.date.fromisoformat(value.strip()))
    except ValueError:
        # A date column compared with a moment: compared as timestamps, which both engines do.
        return _datetime(value)


def _datetime(value: Any) -> exp.Expr | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is not None:
        # Dataset datetimes are stored without a time zone, in UTC.
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)


def _string(value: Any, dialect: str) -> exp.Expr | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or "\x00" in value:
        return None
    return string_literal(value, dialect)


def string_literal(text: str, dialect: str) -> exp.Expr:
    """A string literal; on PostgreSQL text with a backslash becomes an escape string (E'...').

    An escape string means the same whatever the server's `standard_conforming_strings` says, so a
    trailing backslash can never end the literal early.
    """
    if dialect == "postgres" and "\\" in text:
        return exp.ByteString(this=text)
    return exp.Literal.string(text)
