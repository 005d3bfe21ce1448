"""A rendered statement as JSON, so a job can be executed by another thread or process."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from openlytics.engines.base import BindValue, Statement


def encode_statement(statement: Statement) -> list[Any]:
    """`[text, {"bind": tagged value}, ...]`, JSON-safe."""
    out: list[Any] = []
    for fragment in statement.fragments:
        if isinstance(fragment, BindValue):
            out.append({"bind": _encode_value(fragment.value)})
        else:
            out.append(fragment)
    return out


def decode_statement(data: list[Any]) -> Statement:
    """Inverse of `encode_statement`."""
    fragments: list[str | BindValue] = []
    for item in data:
        if isinstance(item, dict):
            fragments.append(BindValue(_decode_value(item["bind"])))
        else:
            fragments.append(str(item))
    return Statement(tuple(fragments))


def _encode_value(value: Any) -> Any:
    # Order matters: datetime is a subclass of date, bool of int.
    if isinstance(value, dt.datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"t": "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {"t": "time", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"t": "decimal", "v": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return {"t": "json", "v": value}
    raise TypeError(f"cannot bind a value of type {type(value).__name__}")


def _decode_value(tagged: dict[str, Any]) -> Any:
    kind, value = tagged["t"], tagged["v"]
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value
