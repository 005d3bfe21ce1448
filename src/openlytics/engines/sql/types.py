"""Column types: driver type codes to `ColumnPlan`s, reflected SQLAlchemy types to logical type names.

PostgreSQL declares OIDs in `cursor.description`; pymysql declares FIELD_TYPE codes, with charset and
flags in its result's field list. SQLite declares nothing, so `RowBatcher` infers its columns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from openlytics.engines.sql.batching import ColumnPlan

_PG_STRING_OIDS = {18, 19, 25, 1042, 1043, 705}
# timetz, uuid, inet, cidr, macaddr, macaddr8, money, bit, varbit, tsvector, xml: shown as text
_PG_TEXT_OIDS = {1266, 2950, 869, 650, 829, 774, 790, 1560, 1562, 3614, 142}
_PG_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.duration("us"),
    17: pa.binary(),
}


def postgres_column_plan(name: str, column: Sequence[Any]) -> ColumnPlan:
    """The Arrow plan of one psycopg `cursor.description` entry, from its type OID."""
    oid = column[1]
    if oid in _PG_TYPES:
        return ColumnPlan(name, _PG_TYPES[oid])
    if oid in _PG_STRING_OIDS or oid in _PG_TEXT_OIDS:
        return ColumnPlan(name, pa.string())
    if oid in (114, 3802):  # json, jsonb: psycopg parses them; hand them on as JSON text
        return ColumnPlan(name, pa.string(), _json_text)
    if oid == 1700:
        return _numeric_plan(name, getattr(column, "precision", None), getattr(column, "scale", None))
    return ColumnPlan(name)


_MYSQL_INT_CODES = {1, 2, 3, 8, 9, 13}  # TINY, SHORT, LONG, LONGLONG, INT24, YEAR
_MYSQL_TEXT_CODES = {15, 247, 248, 249, 250, 251, 252, 253, 254}  # VARCHAR, ENUM, SET, BLOBs, (VAR_)STRING
_MYSQL_TYPES: dict[int, pa.DataType] = {
    4: pa.float32(),
    5: pa.float64(),
    6: pa.null(),
    7: pa.timestamp("us"),
    12: pa.timestamp("us"),
    10: pa.date32(),
    14: pa.date32(),
    16: pa.binary(),
    245: pa.string(),
    255: pa.binary(),
}
_MYSQL_BINARY_CHARSET = 63
_MYSQL_UNSIGNED_FLAG = 32


def mysql_column_plan(name: str, column: Sequence[Any], cursor: Any) -> ColumnPlan:
    """The Arrow plan of one pymysql `cursor.description` entry, from its FIELD_TYPE code and flags."""
    code, length, scale = column[1], column[4] or 0, column[5] or 0
    charset, flags = _mysql_field_flags(cursor, name, column)
    if code in _MYSQL_INT_CODES:
        unsigned_bigint = code == 8 and flags & _MYSQL_UNSIGNED_FLAG
        return ColumnPlan(name, pa.uint64() if unsigned_bigint else pa.int64())
    if code in (0, 246):
        # MySQL counts the decimal point and, unless unsigned, a sign in a DECIMAL's display length.
        unsigned = bool(flags & _MYSQL_UNSIGNED_FLAG)
        return _numeric_plan(name, length - (1 if scale else 0) - (0 if unsigned else 1), scale)
    if code == 11:
        return ColumnPlan(name, pa.time64("us"), _timedelta_to_time)
    if code in _MYSQL_TEXT_CODES:
        if charset is None:
            return ColumnPlan(name)
        return ColumnPlan(name, pa.binary() if charset == _MYSQL_BINARY_CHARSET else pa.string())
    if code in _MYSQL_TYPES:
        return ColumnPlan(name, _MYSQL_TYPES[code])
    return ColumnPlan(name)


def sqlalchemy_logical_type(type_: Any) -> str:
    """Map a reflected SQLAlchemy column type onto a logical type name."""
    checks: list[tuple[type[Any], str]] = [
        (sa.Boolean, "boolean"),
        (sa.Integer, "integer"),
        (sa.Float, "float"),  # before Numeric: Float is a subclass of Numeric
        (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"),
        (sa.Date, "date"),
        (sa.Time, "time"),
        (sa.Interval, "interval"),
        (sa.ARRAY, "list"),
        (sa.JSON, "string"),
        (sa.Uuid, "string"),
        (sa.String, "string"),
        (sa.LargeBinary, "binary"),
        (sa.types._Binary, "binary"),
    ]
    for cls, logical in checks:
        if isinstance(type_, cls):
            return logical
    name = type(type_).__name__.upper()
    if name in ("YEAR", "TINYINT", "MEDIUMINT"):
        return "integer"
    if name == "BIT":
        return "binary"
    if re.match(r"^(INET|CIDR|MACADDR|MONEY|TSVECTOR|CITEXT|XML)", name):
        return "string"
    return name.lower()


def _numeric_plan(name: str, precision: int | None, scale: int | None) -> ColumnPlan:
    if not precision or precision <= 0 or scale is None:
        return ColumnPlan(name, pa.float64(), float)  # unconstrained NUMERIC: no exact Arrow type fits all
    if precision <= 38:
        return ColumnPlan(name, pa.decimal128(precision, scale))
    if precision <= 76:
        return ColumnPlan(name, pa.decimal256(precision, scale))
    return ColumnPlan(name, pa.string())


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _timedelta_to_time(value: Any) -> dt.time:
    # MySQL TIME is a duration (-838:59:59 to 838:59:59); only a time of day fits Arrow's time type.
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) <= value < dt.timedelta(days=1):
        raise ValueError(f"{value!r} is not a time of day")
    return (dt.datetime.min + value).time()


def _mysql_field_flags(cursor: Any, name: str, column: Sequence[Any]) -> tuple[int | None, int]:
    # pymysql's description lacks charset and flags; its result's field list (stable for years) has them.
    fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
    for field in fields:
        if field.name == column[0]:
            return field.charsetnr, field.flags
    return None, 0
