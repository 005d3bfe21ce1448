"""Core objects <-> the shapes the ClicData wrapper reads (records keyed in snake_case, `rec_id` ids)."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openlytics.core.errors import InvalidInputError
from openlytics.store.models import Dashboard, Dataset, DatasetVersion, Schedule, ScheduleRun, User

# ClicData column types -> ours. `percentage`, `dropdown` and `rec_id` are remembered in the dataset's
# options so that GET shows them back.
DATA_TYPES: dict[str, str] = {
    "text": "string",
    "number": "float64",
    "datetime": "datetime",
    "date": "date",
    "percentage": "float64",
    "checkbox": "bool",
    "dropdown": "string",
    "rec_id": "int64",
}
# Ours -> the ClicData type shown when none was remembered.
DEFAULT_DATA_TYPES: dict[str, str] = {
    "string": "text",
    "int32": "number",
    "int64": "number",
    "float32": "number",
    "float64": "number",
    "bool": "checkbox",
    "date": "date",
    "datetime": "datetime",
}
TYPES_KEY = "clicdata_types"


def timestamp(value: datetime | None) -> str | None:
    """ISO-8601, or None."""
    return value.isoformat() if value is not None else None


# ----- datasets ----------------------------------------------------------------------------------
def dataset_columns(body_columns: Any) -> tuple[list[dict[str, str]], dict[str, str]]:
    """`columns: [{name, data_type}]` -> our column definitions and the ClicData types to remember."""
    if not isinstance(body_columns, list):
        raise InvalidInputError("columns", 'a list of {"name", "data_type"}')
    columns: list[dict[str, str]] = []
    remembered: dict[str, str] = {}
    for index, column in enumerate(body_columns):
        where = f"columns[{index}]"
        if not isinstance(column, dict) or not isinstance(column.get("name"), str) or not column["name"]:
            raise InvalidInputError(f"{where}.name", "a non-empty string")
        kind = str(column.get("data_type", "")).strip().lower()
        if kind not in DATA_TYPES:
            raise InvalidInputError(
                f"{where}.data_type",
                f"unknown data type {column.get('data_type')!r} for column {column['name']!r}; "
                f"expected one of {', '.join(DATA_TYPES)}",
            )
        columns.append({"name": column["name"], "type": DATA_TYPES[kind]})
        remembered[column["name"]] = kind
    return columns, remembered


def clicdata_type(dataset: Dataset, column: dict[str, Any]) -> str:
    """The ClicData type of one of our columns (the remembered one while it still fits)."""
    ours = str(column.get("type", "string"))
    remembered = ((dataset.options or {}).get(TYPES_KEY) or {}).get(column.get("name"))
    if remembered in DATA_TYPES and DATA_TYPES[remembered] == ours:
        return str(remembered)
    return DEFAULT_DATA_TYPES.get(ours, "text")


def dataset(d: Dataset) -> dict[str, Any]:
    """Dataset metadata as `GET data` lists it."""
    return {
        "rec_id": d.id,
        "name": d.name,
        "description": d.description or "",
        "type": "query" if d.source_query_id is not None else "custom",
        "row_count": d.row_count,
        "unique_key_available": bool(d.primary_key),
        "refresh": d.source_query_id is not None,
        "version": d.version,
        "created_date": timestamp(d.created_at),
        "modified_date": timestamp(d.updated_at),
        "columns": [{"name": c["name"], "data_type": clicdata_type(d, c)} for c in d.columns or []],
    }


def version(v: DatasetVersion) -> dict[str, Any]:
    """One kept version (`GET data/{id}/versions`)."""
    return {
        "ver_id": v.version,
        "version": v.version,
        "created_date": timestamp(v.created_at),
        "row_count": v.row_count,
        "operation": v.operation,
    }


def cell(value: Any) -> Any:
    """A stored value as JSON: dates in ISO-8601, NaN and infinities as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON records."""
    return [{k: cell(v) for k, v in row.items()} for row in rows]


def cells(value: Any, field: str) -> dict[str, Any]:
    """`[{"column", "value"}, ...]` -> {column: value}."""
    if not isinstance(value, list):
        raise InvalidInputError(field, 'a list of {"column", "value"}')
    row: dict[str, Any] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("column"), str):
            raise InvalidInputError(f"{field}[{index}]", 'an object {"column", "value"}')
        row[item["column"]] = item.get("value")
    return row


# ----- dashboards, schedules, users --------------------------------------------------------------
def dashboard(d: Dashboard, thumbnail: bytes | None) -> dict[str, Any]:
    """A dashboard (`GET dashboard`), with its thumbnail as base64 PNG when asked for."""
    item: dict[str, Any] = {
        "rec_id": d.id,
        "name": d.name,
        "description": (d.options or {}).get("description", ""),
        "created_date": timestamp(d.created_at),
        "modified_date": timestamp(d.updated_at),
    }
    if thumbnail is not None:
        item["thumbnail"] = base64.b64encode(thumbnail).decode()
    return item


UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def frequency(s: Schedule) -> str:
    """`every 2 hours`, `cron 0 6 * * 1 (Europe/Paris)`."""
    if s.cron:
        return f"cron {s.cron} ({s.timezone})"
    seconds = s.interval_seconds or 0
    for unit, size in UNITS:
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return "manual"


def run_status(run: ScheduleRun | None) -> str:
    """`succeeded`, `failed` or `never run`."""
    if run is None:
        return "never run"
    return "failed" if run.error else "succeeded"


def schedule(s: Schedule, latest: ScheduleRun | None) -> dict[str, Any]:
    """A schedule (`GET schedule`)."""
    return {
        "rec_id": s.id,
        "name": s.name,
        "enabled": s.enabled,
        "frequency": frequency(s),
        "next_run": timestamp(s.next_run_at),
        "last_run": timestamp(s.last_run_at),
        "status": run_status(latest),
        "kind": s.kind,
        "target_id": s.target_id,
    }


def run(r: ScheduleRun) -> dict[str, Any]:
    """One firing of a schedule."""
    return {
        "rec_id": r.id,
        "schedule_id": r.schedule_id,
        "fired_date": timestamp(r.fired_at),
        "manual": r.manual,
        "job_id": r.job_id,
        "status": run_status(r),
        "error": r.error,
    }


def user(u: User) -> dict[str, Any]:
    """A user of the account."""
    return {
        "rec_id": u.id,
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "enabled": u.disabled_at is None,
        "last_seen": timestamp(u.last_seen_at),
        "created_date": timestamp(u.created_at),
    }
