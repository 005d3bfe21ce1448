"""Events -> rows of an event type's table (pure functions).

`map_events(fields, events, mode)` takes the event type's field tree (see event_types.py) and
returns an Arrow table of the mapped columns, the events that made its rows (same order), and the
rejected events with their status:

- TYPE_MISMATCH: a value does not convert to its column's type (`"12"` converts to a number,
  `"abc"` does not; booleans convert to numbers never; ISO-8601 strings and epoch seconds (or
  milliseconds past year 5138) convert to TIMESTAMP), a VARCHAR longer than its length without
  `truncate`, or null in a `nonNull` column.
- UNMAPPED_FIELDS (STRICT only): the event has a non-null value in a field that is neither mapped nor
  discarded (fields under `_metadata`, added by the pipeline, do not count).

Lists and objects mapped to a VARCHAR column are stored as JSON text; a missing field is NULL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from openlytics.core.datasets.column_types import ARROW_TYPES
from openlytics.core.pipeline import column_types
from openlytics.core.pipeline.event_types import METADATA_FIELD, mapped_columns

TYPE_MISMATCH = "TYPE_MISMATCH"
UNMAPPED_FIELDS = "UNMAPPED_FIELDS"
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class ConversionError(ValueError):
    """A value does not fit its column."""


@dataclass(frozen=True)
class Column:
    """One mapped column: where its value is in the event, and its type."""

    path: tuple[str, ...]
    name: str
    dataset_type: str
    length: int | None = None
    truncate: bool = False
    non_null: bool = False


@dataclass
class Reject:
    """An event that cannot be loaded, with its status code and why."""

    event: Any
    status: str
    error: str
    index: int = -1  # position in the events given


@dataclass
class MappedRows:
    """The rows of one table, the events they came from, and the rejected events."""

    table: pa.Table
    events: list[Any] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # positions of `events` in the events given


def columns_of(fields: Sequence[dict[str, Any]]) -> list[Column]:
    """The mapped columns of a field tree, in tree order."""
    found = []
    for path, mapping in mapped_columns(fields):
        shown = mapping["columnType"]
        kind = column_types.dataset_type(shown)
        found.append(
            Column(
                path=path,
                name=mapping["columnName"],
                dataset_type=kind,
                length=shown.get("length") if kind == "string" else None,
                truncate=bool(shown.get("truncate")),
                non_null=bool(shown.get("nonNull")),
            )
        )
    return found


def map_events(fields: Sequence[dict[str, Any]], events: Sequence[Any], mode: str) -> MappedRows:
    """Convert `events` into rows of the mapped columns (see the module docstring).

    Column by column: each column's values are taken from every event and converted at once;
    values already of the column's Python type pass through unchanged. An event is rejected by
    the first failure in column order (STRICT's unmapped fields first), as row by row would.
    """
    columns = columns_of(fields)
    rejected: dict[int, Reject] = {}
    if mode == "STRICT":
        for index, event in enumerate(events):
            if unmapped := unmapped_fields(fields, event):
                error = f"unmapped fields: {', '.join(unmapped)}"
                rejected[index] = Reject(event, UNMAPPED_FIELDS, error, index)
    extracted: dict[tuple[str, ...], list[Any]] = {(): list(events)}
    converted: list[list[Any] | pa.Array] = []
    for column in columns:
        values = _values(extracted, column.path)
        timestamps = _iso_timestamps(values) if column.dataset_type == "datetime" else None
        if timestamps is not None and not (column.non_null and timestamps.null_count):
            converted.append(timestamps)
            continue
        values, failures = _convert_column(values, column)
        for index, error in failures:
            if index not in rejected:
                rejected[index] = Reject(events[index], TYPE_MISMATCH, error, index)
        converted.append(values)
    result = MappedRows(table=pa.table({}))
    if rejected:
        result.indices = [i for i in range(len(events)) if i not in rejected]
        result.rejects = [rejected[i] for i in sorted(rejected)]
        kept = pa.array(result.indices, type=pa.int64())
        converted = [
            values.take(kept) if isinstance(values, pa.Array) else [values[i] for i in result.indices]
            for values in converted
        ]
    else:
        result.indices = list(range(len(events)))
    result.events = [events[i] for i in result.indices]
    result.table = pa.table(
        {
            c.name: v if isinstance(v, pa.Array) else pa.array(v, type=ARROW_TYPES[c.dataset_type])
            for c, v in zip(columns, converted, strict=True)
        }
    )
    return result


_TIMESTAMP = ARROW_TYPES["datetime"]
_UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


def _iso_timestamps(values: list[Any]) -> pa.Array | None:
    """A column of ISO-8601 texts (and nulls) parsed by Arrow at once, in UTC without zone; None
    when any value is not text or Arrow cannot parse them all alike (the per-value path decides).

    All with a zone offset (converted to UTC), or all without (taken as they are): as `_datetime`.
    """
    if not values or not set(map(type, values)) <= _TEXT_OR_NULL:
        return None
    texts = pa.array(values, type=pa.string())
    for zoned in (True, False):
        try:
            if zoned:
                return texts.cast(_UTC_TIMESTAMP).cast(_TIMESTAMP)
            return texts.cast(_TIMESTAMP)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


_TEXT_OR_NULL = frozenset({str, type(None)})


def _values(extracted: dict[tuple[str, ...], list[Any]], path: tuple[str, ...]) -> list[Any]:
    """The value at `path` of every event (None where missing), parents computed once."""
    found = extracted.get(path)
    if found is None:
        parents = _values(extracted, path[:-1])
        name = path[-1]
        found = [p.get(name) if isinstance(p, dict) else None for p in parents]
        extracted[path] = found
    return found


_FLOAT_LIMIT = math.inf
_MISSING: Any = object()


def _convert_column(values: list[Any], column: Column) -> tuple[list[Any], list[tuple[int, str]]]:
    """(converted values, [(index, error)]) of one column; failed values become None."""
    kind = column.dataset_type
    out = values
    failures: list[tuple[int, str]] = []
    length = column.length if kind == "string" else None
    low, high = INT_RANGES.get(kind, (0, 0))
    memo: dict[str, Any] = {}
    for index, value in enumerate(values):
        vtype = type(value)
        if value is None:
            if not column.non_null:
                continue
        elif kind == "string":
            if vtype is str and (length is None or len(value) <= length):
                continue
        elif kind in ("int64", "int32"):
            if vtype is int and low <= value <= high:
                continue
        elif kind in ("float64", "float32"):
            if vtype is float and abs(value) != _FLOAT_LIMIT:
                continue
        elif kind == "bool" and vtype is bool:
            continue
        if vtype is str:  # repeated texts (timestamps of one webhook call, ...) convert once
            known = memo.get(value, _MISSING)
            if known is _MISSING:
                try:
                    known = memo[value] = convert(value, column)
                except ConversionError as exc:
                    known = memo[value] = exc
        else:
            try:
                known = convert(value, column)
            except ConversionError as exc:
                known = exc
        if isinstance(known, ConversionError):
            failures.append((index, str(known)))
            known = None
        new = known
        if out is values:
            out = list(values)
        out[index] = new
    return out, failures


def unmapped_fields(fields: Sequence[dict[str, Any]], event: Any) -> list[str]:
    """Paths of the event's non-null values whose field is neither mapped nor discarded."""
    found: list[str] = []
    _unmapped({n["fieldName"]: n for n in fields}, event, (), found)
    return found


def _unmapped(
    nodes: dict[str, dict[str, Any]], value: dict[str, Any], path: tuple[str, ...], found: list[str]
) -> None:
    for key, item in value.items():
        if (not path and key == METADATA_FIELD) or item is None:
            continue
        node = nodes.get(key)
        mapping = node.get("mapping") if node else None
        if mapping is not None and (mapping.get("isDiscarded") or mapping.get("columnName")):
            continue
        if isinstance(item, dict) and item:
            children = {n["fieldName"]: n for n in (node.get("fields") or [])} if node else {}
            _unmapped(children, item, (*path, key), found)
        else:
            found.append(".".join((*path, key)))


def _get(event: Any, path: tuple[str, ...]) -> Any:
    value = event
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def convert(value: Any, column: Column) -> Any:
    """The value as its column's Python type; ConversionError when it does not fit."""
    if value is None:
        if column.non_null:
            raise ConversionError(f"column {column.name}: null in a NOT NULL column")
        return None
    try:
        converted = CONVERTERS[column.dataset_type](value, column)
    except (ValueError, TypeError, OverflowError, OSError) as exc:  # OSError: epoch out of range
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise ConversionError(
            f"column {column.name}: value {shown} is not a valid {column.dataset_type} ({exc})"
        ) from None
    return converted


def _string(value: Any, column: Column) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict | list):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if column.length is not None and len(text) > column.length:
        if not column.truncate:
            raise ValueError(f"longer than {column.length} characters")
        text = text[: column.length]
    return text


def _integer(value: Any, column: Column) -> int:
    if isinstance(value, bool | dict | list):
        raise TypeError("not a number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not an integer")
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            decimal = float(value.strip())
            if not decimal.is_integer():
                raise ValueError("not an integer") from None
            number = int(decimal)
    else:
        number = int(value)
    low, high = INT_RANGES[column.dataset_type]
    if not low <= number <= high:
        raise OverflowError("out of range")
    return number


def _float(value: Any, column: Column) -> float:
    if isinstance(value, bool | dict | list):
        raise TypeError("not a number")
    number = float(value.strip() if isinstance(value, str) else value)
    if math.isinf(number) and not isinstance(value, str):
        raise OverflowError("out of range")
    return number


def _bool(value: Any, column: Column) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "t", "f"):
        return value.strip().lower() in ("true", "1", "t")
    raise ValueError("not a boolean")


def _datetime(value: Any, column: Column) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    elif isinstance(value, str):
        text = value.strip()
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    else:
        raise TypeError("not a timestamp")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _date(value: Any, column: Column) -> date:
    if isinstance(value, str) and len(value.strip()) == 10:
        return date.fromisoformat(value.strip())
    return _datetime(value, column).date()


CONVERTERS = {
    "string": _string,
    "int32": _integer,
    "int64": _integer,
    "float32": _float,
    "float64": _float,
    "bool": _bool,
    "datetime": _datetime,
    "date": _date,
}
