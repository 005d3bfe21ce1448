"""Event types, their mappings, and the default mapping mode."""

from __future__ import annotations

from typing import Any

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.alooma import wire
from openlytics.dialects.alooma.dispatch import Call, Routes

routes = Routes()


@routes.get("event-types")
def get_event_types(call: Call) -> list[dict[str, Any]]:
    """Every event type with its field tree."""
    service = call.app.event_types
    return [wire.with_fields(service.to_document(et)) for et in service.list(call.principal)]


@routes.get("event-types/{name}")
def get_event_type(call: Call) -> dict[str, Any]:
    """One event type (also `get_mapping`, which strips `stats` client-side)."""
    service = call.app.event_types
    return wire.with_fields(service.to_document(service.get(call.principal, call.params["name"])))


@routes.post("event-types/{name}/mapping")
def set_mapping(call: Call) -> dict[str, Any]:
    """Set the mapping (`discard_event_type` posts `mapping.isDiscarded: true`)."""
    service = call.app.event_types
    name = call.params["name"]
    document = call.json_object()
    mapping = document.get("mapping")
    if isinstance(mapping, dict) and mapping.get("isDiscarded") in (True, "true"):
        event_type = service.discard(call.principal, name)
    else:
        event_type = service.set_mapping(call.principal, name, document)
    return wire.with_fields(service.to_document(event_type))


@routes.delete("event-types/{name}")
def delete_event_type(call: Call) -> dict[str, Any]:
    """Forget an event type (its table stays)."""
    call.app.event_types.delete(call.principal, call.params["name"])
    return {}


@routes.get("mapping-mode")
def get_mapping_mode(call: Call) -> str:
    """The default mode as a JSON string: "AUTO_MAP", "STRICT" or "FLEXIBLE"."""
    return str(call.app.event_types.default_mode(call.principal.org_id))


@routes.post("mapping-mode")
def set_mapping_mode(call: Call) -> str:
    """The body is a JSON string."""
    mode = call.json()
    if isinstance(mode, dict):
        mode = mode.get("mode") or mode.get("mappingMode")
    if not isinstance(mode, str):
        raise InvalidInputError("body", 'a mode as a JSON string, e.g. "STRICT"')
    call.app.event_types.set_default_mode(call.principal, mode.upper())
    return mode.upper()
