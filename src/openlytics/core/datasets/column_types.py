"""Dataset column types: our names (int32 … string), their Arrow types, and forced-type parsing.

A dataset stores only these types. Anything else arriving from a file or a DataFrame is mapped onto
the nearest one by `dataset_type` (small integers widen, decimals become float64, time zones are
dropped after converting to UTC, anything exotic becomes text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from openlytics.core.errors import InvalidInputError

ARROW_TYPES: dict[str, pa.DataType] = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "string": pa.string(),
}
TYPE_NAMES = tuple(ARROW_TYPES)

# Other spellings people (and other products' clients) use for the same types.
ALIASES: dict[str, str] = {
    "int": "int64",
    "integer": "int64",
    "bigint": "int64",
    "long": "int64",
    "float": "float64",
    "double": "float64",
    "number": "float64",
    "real": "float32",
    "boolean": "bool",
    "str": "string",
    "text": "string",
    "varchar": "string",
    "timestamp": "datetime",
}


def type_name(name: Any, *, field: str = "type") -> str:
    """Our name of a type given by a user (`float` -> `float64`); InvalidInputError if unknown."""
    if not isinstance(name, str):
        raise InvalidInputError(field, f"a type name: one of {', '.join(TYPE_NAMES)}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in ARROW_TYPES:
        raise InvalidInputError(field, f"unknown type {name!r}: use one of {', '.join(TYPE_NAMES)}")
    return key


def arrow_type(name: str) -> pa.DataType:
    """The Arrow type of one of our type names (or an alias)."""
    return ARROW_TYPES[type_name(name)]


def dataset_type(arrow: pa.DataType) -> pa.DataType:
    """The Arrow type a dataset stores for values of type `arrow`."""
    if pa.types.is_boolean(arrow):
        return pa.bool_()
    if pa.types.is_integer(arrow):
        small = arrow.bit_width <= 16 or (arrow.bit_width == 32 and pa.types.is_signed_integer(arrow))
        return pa.int32() if small else pa.int64()
    if pa.types.is_floating(arrow):
        return pa.float32() if arrow.bit_width <= 32 else pa.float64()
    if pa.types.is_decimal(arrow):
        return pa.float64()
    if pa.types.is_timestamp(arrow):
        return pa.timestamp("us")
    if pa.types.is_date(arrow):
        return pa.date32()
    if pa.types.is_null(arrow):
        return pa.string()
    return pa.string()


def name_of(arrow: pa.DataType) -> str:
    """Our type name of a stored Arrow type."""
    stored = dataset_type(arrow)
    for name, candidate in ARROW_TYPES.items():
        if candidate == stored:
            return name
    return "string"


def dataset_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` with every field mapped onto a dataset type."""
    return pa.schema([pa.field(f.name, dataset_type(f.type)) for f in schema])


def columns_of(schema: pa.Schema) -> list[dict[str, str]]:
    """The `columns` document of a dataset: `[{"name", "type"}]`."""
    return [{"name": f.name, "type": name_of(f.type)} for f in schema]


def schema_of(columns: list[Any]) -> pa.Schema:
    """The Arrow schema of a `columns` document (as stored, or given by a user)."""
    fields = []
    seen: set[str] = set()
    for i, column in enumerate(columns):
        if not isinstance(column, Mapping) or not isinstance(column.get("name"), str):
            raise InvalidInputError(f"columns[{i}]", 'an object {"name": ..., "type": ...}')
        name = column["name"].strip()
        if not name or len(name) > 255:
            raise InvalidInputError(f"columns[{i}].name", "1 to 255 characters")
        if name in seen:
            raise InvalidInputError(f"columns[{i}].name", f"duplicate column {name!r}")
        seen.add(name)
        fields.append(pa.field(name, arrow_type_checked(column.get("type", "string"), f"columns[{i}].type")))
    return pa.schema(fields)


def arrow_type_checked(name: Any, field: str) -> pa.DataType:
    """`arrow_type` with the error naming `field`."""
    return ARROW_TYPES[type_name(name, field=field)]


def forced_types(force_types: Mapping[str, Any] | None) -> dict[str, pa.DataType]:
    """Parse `{"column": "float", ...}` into Arrow types."""
    if force_types is None:
        return {}
    if not isinstance(force_types, Mapping):
        raise InvalidInputError("force_types", 'an object {"column": "type"}')
    return {
        str(column): arrow_type_checked(kind, f"force_types.{column}") for column, kind in force_types.items()
    }
