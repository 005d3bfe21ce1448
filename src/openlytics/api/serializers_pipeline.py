"""The event pipeline's objects as the JSON of docs/api.md (inputs, event types, code, samples, ...)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from openlytics.api.serializers import iso
from openlytics.core.pipeline.code_engine import TestRun
from openlytics.core.pipeline.output_tables import OutputTable
from openlytics.core.pipeline.scheduled_queries import ScheduledQuery
from openlytics.store.models import (
    CodeModule,
    EventSample,
    PipelineInput,
    PipelineNotification,
    PipelineOutput,
)


def pipeline_input(record: PipelineInput, configuration: dict[str, Any]) -> dict[str, Any]:
    """PipelineInput; `configuration` as shown (secrets masked, a webhook's token and URL)."""
    return {
        "id": record.id,
        "uuid": str(record.uuid),
        "name": record.name,
        "type": record.type,
        "configuration": configuration,
        "webhook_url": configuration.get("url") if record.type == "REST" else None,
        "paused": record.paused,
        "sleep_seconds": record.sleep_seconds,
        "status": record.status,
        "error_message": record.error_message,
        "error_count": record.error_count,
        "validated": record.validated,
        "last_run_at": iso(record.last_run_at),
        "next_run_at": iso(record.next_run_at),
        "last_success_at": iso(record.last_success_at),
        "deleted_at": iso(record.deleted_at),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }


def event_type(document: dict[str, Any], *, id: int, uuid: str, input_id: int | None) -> dict[str, Any]:
    """EventType, from the core's document (`fields` keep the document's shape: the mapping format)."""
    mapping = document.get("mapping") or {}
    return {
        "id": id,
        "uuid": uuid,
        "name": document["name"],
        "state": document["state"],
        "mapping_mode": document["mappingMode"],
        "using_default_mapping_mode": document["usingDefaultMappingMode"],
        "input_id": input_id,
        "input_name": document.get("origInputLabel"),
        "is_discarded": bool(mapping.get("isDiscarded")),
        "schema": mapping.get("schema"),
        "table_name": mapping.get("tableName") or None,
        "auto_mapping_error": document.get("autoMappingError"),
        "consolidation": document.get("consolidation") or {},
        "fields": document.get("fields") or [],
    }


def code_module(module: CodeModule, *, is_default: bool = False) -> dict[str, Any]:
    """CodeModule."""
    return {
        "name": module.name,
        "code": module.code,
        "language": module.language,
        "is_default": is_default,
        "created_at": iso(module.created_at),
        "updated_at": iso(module.updated_at),
    }


def test_run(run: TestRun) -> dict[str, Any]:
    """What a test of the transform on one sample gave."""
    return {"result": run.result, "output": run.output, "runtime_ms": run.runtime_ms, "error": run.error}


def sample(s: EventSample) -> dict[str, Any]:
    """Sample: the event as it entered the pipeline, and what became of it."""
    try:
        event = json.loads(s.event)
    except ValueError:
        event = s.event
    return {
        "id": s.id,
        "event_type": s.event_type,
        "status": s.status,
        "error": s.error,
        "input_id": s.input_id,
        "event": event,
        "created_at": iso(s.created_at),
    }


def metric_series(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The core's `{"target", "datapoints": [[value, epoch]]}` as
    `{"name", "points": [{"time", "value"}]}`."""
    return [
        {
            "name": s["target"],
            "points": [
                {"time": iso(datetime.fromtimestamp(epoch, UTC)), "value": value}
                for value, epoch in s["datapoints"]
            ],
        }
        for s in series
    ]


def notification(n: PipelineNotification) -> dict[str, Any]:
    """Notification."""
    return {
        "id": n.id,
        "uuid": str(n.uuid),
        "type": n.type,
        "severity": n.severity,
        "message": n.message,
        "description": n.description,
        "params": n.params or {},
        "state": n.state,
        "count": n.aggregated_count,
        "created_at": iso(n.created_at),
        "updated_at": iso(n.updated_at),
    }


def output(record: PipelineOutput, configuration: dict[str, Any], is_warehouse: bool) -> dict[str, Any]:
    """Output; `configuration` with passwords masked."""
    return {
        "id": record.id,
        "uuid": str(record.uuid),
        "name": record.name,
        "type": record.type,
        "configuration": configuration,
        "is_warehouse": is_warehouse,
        "validated": record.validated,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }


def output_table(t: OutputTable) -> dict[str, Any]:
    """OutputTable (`columns` is [] when listed shallow)."""
    return {
        "schema": t.schema,
        "name": t.name,
        "columns": [
            {
                "name": c.name,
                "column_type": c.column_type,
                "primary_key": c.primary_key,
                "dist_key": c.dist_key,
                "sort_key_index": c.sort_key_index,
            }
            for c in t.columns
        ],
    }


def scheduled_query(q: ScheduledQuery) -> dict[str, Any]:
    """ScheduledQuery."""
    return {
        "id": q.id,
        "event_type": q.event_type,
        "query_type": q.query_type,
        "query": q.custom_query,
        "query_id": q.query_id,
        "frequency": q.frequency,
        "run_at": q.run_at,
        "status": q.status,
        "error_message": q.error_message,
        "error_count": q.error_count,
        "last_processing_time": iso(q.last_processing_time),
        "next_processing_time": iso(q.next_processing_time),
        "last_success_time": iso(q.last_success_time),
        "custom_variables": q.custom_variables,
    }
