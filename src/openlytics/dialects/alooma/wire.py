"""Core objects <-> the shapes the alooma client reads (contract §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MASK = "**********"
TRANSFORMER_ID = "code-engine"
RESTREAM_ID = "restream"
MAPPER_ID = "mapper"
OUTPUT_NAMES = {"REDSHIFT": "Redshift", "SNOWFLAKE": "Snowflake", "BIGQUERY": "BigQuery"}


def node(
    id: str,
    name: str,
    type: str,
    category: str,
    *,
    stats: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    deleted: bool = False,
) -> dict[str, Any]:
    """A plumbing node: every key the client indexes is always there."""
    return {
        "id": id,
        "name": name,
        "type": type,
        "category": category,
        "deleted": deleted,
        "stats": {"throughput": 0, "latency": 0, **(stats or {})},
        "configuration": configuration or {},
        "state": state,
    }


def epoch_ms(moment: datetime | None) -> int | None:
    """Milliseconds since the epoch (None stays None)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def with_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Every event type and field carries `fields` (the client's `get_mapping` walks it)."""
    out = dict(document)
    out["fields"] = [with_fields(f) for f in out.get("fields") or [] if isinstance(f, dict)]
    return out


def column(col: Any) -> dict[str, Any]:
    """An output column (`OutputColumn`) as a table column."""
    column_type = (
        dict(col.column_type) if isinstance(col.column_type, dict) else {"type": str(col.column_type)}
    )
    column_type.setdefault("nonNull", False)
    return {
        "columnName": col.name,
        "columnType": column_type,
        "distKey": bool(col.dist_key),
        "sortKeyIndex": col.sort_key_index if col.sort_key_index is not None else -1,
        "primaryKey": bool(col.primary_key),
        "subColumns": None,
        "subColumnsMap": None,
    }


def table(t: Any, *, shallow: bool = False) -> dict[str, Any]:
    """An output table (`OutputTable`)."""
    return {
        "tableName": t.name,
        "schema": t.schema,
        "retention": None,
        "columns": [] if shallow else [column(c) for c in t.columns],
    }
