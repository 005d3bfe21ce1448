"""Turn JSON rows back into Python values using the result's column types.

JSON has no dates or decimals, so the server sends them as strings; the column types say which
strings to parse. A value that does not parse is left as the server sent it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any

from .models import Column


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def _decimal(value: str) -> decimal.Decimal:
    return decimal.Decimal(value)


PARSERS: dict[str, Callable[[str], Any]] = {
    "date": _date,
    "datetime": _datetime,
    "time": _time,
    "decimal": _decimal,
}


def decode_rows(rows: list[dict[str, Any]], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """Parse the string values of date, datetime, time and decimal columns in place; return `rows`."""
    parsers = [(c.name, PARSERS[c.type]) for c in columns if c.type in PARSERS]
    if not parsers:
        return rows
    for row in rows:
        for name, parse in parsers:
            value = row.get(name)
            if isinstance(value, str):
                # A value that does not parse is kept as sent rather than lost.
                with contextlib.suppress(ValueError, decimal.InvalidOperation):
                    row[name] = parse(value)
    return rows
