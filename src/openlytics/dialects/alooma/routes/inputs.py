"""Inputs: the map, details, creation, edits, pause and sleep time; the REST input's webhook."""

from __future__ import annotations

from typing import Any

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.dialects.alooma import wire
from openlytics.dialects.alooma.dispatch import Call, Routes
from openlytics.store.models import PipelineInput

routes = Routes()


@routes.get("inputs")
def get_inputs(call: Call) -> dict[str, Any]:
    """Every input, keyed by id (the client filters locally)."""
    nodes = (input_node(call, record) for record in call.app.pipeline_inputs.list(call.principal))
    return {n["id"]: n for n in nodes}


@routes.post("inputs")
def create_input_unvalidated(call: Call) -> dict[str, Any]:
    """`create_input(..., validate=False)` posts here with `?validate=false`."""
    return create_input(call, validate=(call.arg("validate") or "true").lower() != "false")


@routes.get("inputs/{input_id}")
def get_input_by_id(call: Call) -> dict[str, Any]:
    """`{"job": ..., "tasks": {...}}`: the input and its one polling task."""
    record = input_of(call, call.params["input_id"])
    configuration = call.app.pipeline_inputs.shown_configuration(call.principal, record)
    node_id = str(record.uuid)
    task = {
        "id": node_id,
        "state_id": node_id,
        "name": record.name,
        "type": record.type,
        "category": "inputs",
        "status": "paused" if record.paused else record.status,
        "error_message": record.error_message,
        "error_stack": None,
        "error_count": record.error_count,
        "module_name": record.type.lower(),
        "deployment_name": call.app.identity.get_organization(call.principal).slug,
        "last_processing_time": wire.iso(record.last_run_at),
        "next_processing_time": wire.iso(record.next_run_at),
        "last_success_time": wire.iso(record.last_success_at),
        "task_state": dict(record.cursor or {}),
    }
    job = {
        "id": node_id,
        "name": record.name,
        "type": record.type,
        "validated": record.validated,
        "created_at": wire.iso(record.created_at),
        "configuration": configuration,
    }
    return {"job": job, "tasks": {node_id: task}}


@routes.put("inputs/{input_id}")
def edit_input(call: Call) -> dict[str, Any]:
    """Change an input's name and configuration (masked secrets keep their values)."""
    record = input_of(call, call.params["input_id"])
    body = call.json_object()
    name = body.get("name")
    configuration = body.get("configuration")
    if configuration is not None and not isinstance(configuration, dict):
        raise InvalidInputError("configuration", "an object")
    updated = call.app.pipeline_inputs.update(
        call.principal,
        record.id,
        name=name if isinstance(name, str) else None,
        configuration=configuration,
    )
    return input_node(call, updated)


@routes.put("inputs/{input_id}/pause")
def pause_input_by_id(call: Call) -> dict[str, Any]:
    """`?pause=true|false`."""
    record = input_of(call, call.params["input_id"])
    paused = (call.arg("pause") or "true").lower() == "true"
    updated = call.app.pipeline_inputs.set_paused(call.principal, record.id, paused)
    return input_node(call, updated)


@routes.get("inputSleepTime/{input_id}")
def get_input_sleep_time(call: Call) -> dict[str, Any]:
    """Seconds between two polls of the input."""
    record = input_of(call, call.params["input_id"])
    return {"inputSleepTime": call.app.pipeline_inputs.sleep_time(call.principal, record.id)}


@routes.put("inputSleepTime/{input_id}")
def set_input_sleep_time(call: Call) -> dict[str, Any]:
    """The body is a bare JSON number."""
    record = input_of(call, call.params["input_id"])
    seconds = call.json()
    if isinstance(seconds, str):
        try:
            seconds = float(seconds)
        except ValueError:
            seconds = None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise InvalidInputError("body", "a number of seconds")
    call.app.pipeline_inputs.set_sleep_time(call.principal, record.id, float(seconds))
    return {"inputSleepTime": float(seconds)}


def webhook(call: Call) -> dict[str, Any]:
    """`POST /alooma/inputs/rest/<token>`: events (an object, an array, or JSON lines)."""
    received = call.app.pipeline_inputs.ingest(call.params["token"], call.body)
    return {"received": received}


def create_input(call: Call, *, validate: bool) -> dict[str, Any]:
    """Create an input; its node is in the structure as soon as this answers."""
    body = call.json_object()
    name, kind, configuration = body.get("name"), body.get("type"), body.get("configuration") or {}
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("name", "a non-empty string")
    if not isinstance(kind, str) or not kind.strip():
        raise InvalidInputError("type", "an input type, e.g. REST or S3")
    if not isinstance(configuration, dict):
        raise InvalidInputError("configuration", "an object")
    record = call.app.pipeline_inputs.create(
        call.principal, name=name, type=kind.upper(), configuration=configuration, validate=validate
    )
    return input_node(call, record)


def input_of(call: Call, node_id: str) -> PipelineInput:
    """An input by its node id (the uuid; the integer id works too)."""
    for record in call.app.pipeline_inputs.list(call.principal):
        if node_id in (str(record.uuid), str(record.id)):
            return record
    raise NotFoundError("input", node_id)


def input_node(call: Call, record: PipelineInput) -> dict[str, Any]:
    """An input as a structure node (also the values of `GET inputs`)."""
    metrics = call.app.pipeline_metrics
    node = f"input:{record.id}"
    org_id = call.principal.org_id
    return wire.node(
        str(record.uuid),
        record.name,
        record.type,
        "INPUT",
        stats={"throughput": metrics.throughput(org_id, node), "latency": metrics.latency(org_id, node)},
        configuration=call.app.pipeline_inputs.shown_configuration(call.principal, record),
        state={"paused": record.paused, "status": record.status, "error": record.error_message},
        deleted=record.deleted_at is not None,
    )
