"""Output column types as the pipeline shows them (`{"type": "VARCHAR", "length": 256, "nonNull":
false}`, Redshift's vocabulary) and our dataset types; inference of a column type from JSON values.

Mapping: VARCHAR/CHAR/TEXT -> string, BIGINT -> int64, INT/INTEGER/SMALLINT -> int32,
REAL/FLOAT4 -> float32, FLOAT/FLOAT8/DOUBLE PRECISION/NUMERIC/DECIMAL -> float64, BOOLEAN -> bool,
TIMESTAMP -> datetime, DATE -> date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from openlytics.core.errors import InvalidInputError

DEFAULT_VARCHAR_LENGTH = 256
MAX_VARCHAR_LENGTH = 65535

TO_DATASET: dict[str, str] = {
    "VARCHAR": "string",
    "CHAR": "string",
    "TEXT": "string",
    "CHARACTER VARYING": "string",
    "BIGINT": "int64",
    "INT8": "int64",
    "INT": "int32",
    "INTEGER": "int32",
    "INT4": "int32",
    "SMALLINT": "int32",
    "REAL": "float32",
    "FLOAT4": "float32",
    "FLOAT": "float64",
    "FLOAT8": "float64",
    "DOUBLE PRECISION": "float64",
    "NUMERIC": "float64",
    "DECIMAL": "float64",
    "BOOLEAN": "bool",
    "BOOL": "bool",
    "TIMESTAMP": "datetime",
    "DATE": "date",
}
FROM_DATASET: dict[str, str] = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "INT",
    "float32": "REAL",
    "float64": "FLOAT",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "date": "DATE",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$")


def dataset_type(column_type: Mapping[str, Any], field: str = "columnType") -> str:
    """Our dataset type of an output column type object; InvalidInputError if unknown."""
    if not isinstance(column_type, Mapping) or not isinstance(column_type.get("type"), str):
        raise InvalidInputError(field, 'an object {"type": "VARCHAR", "length": 256, "nonNull": false}')
    name = column_type["type"].strip().upper()
    if name not in TO_DATASET:
        raise InvalidInputError(
            f"{field}.type", f"unknown type {column_type['type']!r}: one of {', '.join(TO_DATASET)}"
        )
    return TO_DATASET[name]


def column_type(
    dataset_type_name: str, *, length: int | None = None, non_null: bool = False
) -> dict[str, Any]:
    """The output column type object of one of our dataset types."""
    name = FROM_DATASET[dataset_type_name]
    shown: dict[str, Any] = {"type": name, "nonNull": non_null}
    if name == "VARCHAR":
        shown["length"] = length or DEFAULT_VARCHAR_LENGTH
        shown["truncate"] = False
    return shown


def infer(values: Iterable[Any]) -> str:
    """The narrowest dataset type holding every non-null value (string when they disagree)."""
    return common_type({value_type(value) for value in values if value is not None})


def common_type(seen: set[str]) -> str:
    """The narrowest dataset type holding values of all the `seen` dataset types."""
    if not seen:
        return "string"
    if len(seen) == 1:
        return next(iter(seen))
    if seen <= {"int64", "int32", "float32", "float64"}:
        return "float64"
    if seen <= {"date", "datetime"}:
        return "datetime"
    return "string"


def holds(column: str, value: str) -> bool:
    """Whether a column of dataset type `column` can hold values of dataset type `value`."""
    if column == value or column == "string":
        return True
    if column in ("float64", "float32"):
        return value in ("int64", "int32", "float32", "float64")
    if column == "int64":
        return value == "int32"
    return column == "datetime" and value == "date"


def value_type(value: Any) -> str:
    """The dataset type one JSON value suggests (lists and objects are kept as JSON text)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        if _ISO_DATE.match(value):
            return "date"
        if _ISO_DATETIME.match(value):
            return "datetime"
    return "string"
