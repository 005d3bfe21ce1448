"""Scheduled (consolidation) queries."""

from __future__ import annotations

from typing import Any

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.pipeline.scheduled_queries import ScheduledQuery
from openlytics.dialects.alooma import wire
from openlytics.dialects.alooma.dispatch import Call, Routes

routes = Routes()


@routes.get("v2/consolidation")
def get_queries(call: Call) -> Any:
    """Keyed by id; a list when filtered by `?event_type=` (what `get_query_by_event_type` reads)."""
    event_type = call.arg("event_type")
    found = [query(q) for q in call.app.scheduled_queries.list(call.principal, event_type=event_type)]
    if event_type is not None:
        return found
    return {q["id"]: q for q in found}


@routes.get("consolidation")
def get_scheduled_queries(call: Call) -> dict[str, Any]:
    """The legacy list, keyed by id."""
    return {q["id"]: q for q in map(query, call.app.scheduled_queries.list(call.principal))}


@routes.post("v2/consolidation")
def schedule_default_query(call: Call) -> dict[str, Any]:
    """The default consolidation of an event type (`configuration` names it)."""
    created = call.app.scheduled_queries.create_default(call.principal, call.json_object())
    return query(created)


@routes.post("v2/consolidation/custom")
def schedule_query(call: Call) -> dict[str, Any]:
    """A custom query every `frequency` hours or at `run_at` (cron)."""
    body = call.json_object()
    event_type, sql = body.get("event_type"), body.get("custom_query")
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidInputError("custom_query", "SQL")
    frequency = body.get("frequency")
    if frequency is not None and (isinstance(frequency, bool) or not isinstance(frequency, int | float)):
        raise InvalidInputError("frequency", "hours")
    created = call.app.scheduled_queries.create_custom(
        call.principal,
        event_type=event_type if isinstance(event_type, str) else "",
        query=sql,
        frequency_hours=frequency,
        run_at=body.get("run_at"),
    )
    return query(created)


@routes.delete("v2/consolidation/{query_id}")
def remove_scheduled_query(call: Call) -> dict[str, Any]:
    """Stop a scheduled query."""
    call.app.scheduled_queries.remove(call.principal, _id(call))
    return {}


@routes.post("v2/consolidation/{query_id}/run")
def run_query(call: Call) -> dict[str, Any]:
    """Run a scheduled query now."""
    run = call.app.scheduled_queries.run(call.principal, _id(call))
    return {"id": call.params["query_id"], "job_id": run.job_id, "error": run.error}


def query(q: ScheduledQuery) -> dict[str, Any]:
    """A scheduled query as the client reads it (§4)."""
    configuration: dict[str, Any] = {
        "custom_query": q.custom_query,
        "event_type": q.event_type,
        "deployment_name": q.deployment_name,
        "query_type": q.query_type,
        "run_at": q.run_at,
        "frequency": q.frequency,
    }
    if q.custom_variables:
        configuration["custom_variables"] = q.custom_variables
    return {
        "id": str(q.id),
        "status": q.status,
        "error_message": q.error_message,
        "error_stack": None,
        "error_count": q.error_count,
        "deployment_name": q.deployment_name,
        "state_id": q.state_id,
        "module_name": q.module_name,
        "consolidation_query": q.custom_query,
        "next_processing_time": wire.iso(q.next_processing_time),
        "last_processing_time": wire.iso(q.last_processing_time),
        "last_success_time": wire.iso(q.last_success_time),
        "configuration": configuration,
    }


def _id(call: Call) -> int:
    text = call.params["query_id"]
    if not text.isdecimal():
        raise NotFoundError("scheduled query", text)
    return int(text)
