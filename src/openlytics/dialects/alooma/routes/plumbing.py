"""The structure (`plumbing/`): inputs, the Code Engine, the mapper, the restream queue, the output."""

from __future__ import annotations

from typing import Any

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.dialects.alooma import wire
from openlytics.dialects.alooma.dispatch import Call, Routes
from openlytics.dialects.alooma.routes.inputs import create_input, input_node, input_of

routes = Routes()
PIPELINE = "pipeline"  # every event passes the Code Engine and the mapper: their stats are the whole's


@routes.get("plumbing")
def get_structure(call: Call) -> dict[str, Any]:
    """Every node: one per input, the Code Engine, the mapper, the restream queue and the output."""
    app, principal = call.app, call.principal
    org_id = principal.org_id
    nodes = [input_node(call, record) for record in app.pipeline_inputs.list(principal)]
    restream = restream_node(call)
    output = output_node(call)
    nodes += [
        wire.node(
            wire.TRANSFORMER_ID,
            "Code Engine",
            "TRANSFORMER",
            "PROCESSOR",
            stats=_stats(call, org_id, PIPELINE),
            configuration={"language": "PYTHON"},
        ),
        wire.node(wire.MAPPER_ID, "Mapper", "MAPPER", "PROCESSOR", stats=_stats(call, org_id, PIPELINE)),
        restream,
        output,
    ]
    inputs = [n["id"] for n in nodes if n["category"] == "INPUT"]
    connections = [{"source": i, "target": wire.TRANSFORMER_ID} for i in inputs]
    connections += [
        {"source": wire.TRANSFORMER_ID, "target": wire.MAPPER_ID},
        {"source": wire.MAPPER_ID, "target": output["id"]},
    ]
    return {"nodes": nodes, "connections": connections}


@routes.get("plumbing/outputs")
def get_output_node(call: Call) -> list[dict[str, Any]]:
    """The output node (one per organization)."""
    return [output_node(call)]


@routes.put("plumbing/nodes/{node_id}")
def set_node(call: Call) -> dict[str, Any]:
    """`set_output` (the output node) and `start_restream` (the restream node)."""
    node_id = call.params["node_id"]
    body = call.json_object()
    if node_id == wire.RESTREAM_ID:
        streaming = str((body.get("configuration") or {}).get("streaming", "")).lower()
        if streaming == "true":
            call.app.restream.restream(call.principal)
        return restream_node(call)
    if node_id == output_node(call)["id"]:
        configuration = body.get("configuration")
        if not isinstance(configuration, dict):
            raise InvalidInputError("configuration", "an object")
        kind = str(configuration.get("sinkType") or body.get("type") or "").upper()
        name = body.get("name") if isinstance(body.get("name"), str) else None
        call.app.pipeline_outputs.set(call.principal, type=kind, configuration=configuration, name=name)
        return output_node(call)
    raise NotFoundError("node", node_id)


@routes.post("plumbing/inputs")
def create_input_validated(call: Call) -> dict[str, Any]:
    """`create_input(..., validate=True)`."""
    return create_input(call, validate=True)


@routes.post("plumbing/nodes/remove/{node_id}")
def remove_input(call: Call) -> dict[str, Any]:
    """Remove an input (its node leaves the structure)."""
    record = input_of(call, call.params["node_id"])
    call.app.pipeline_inputs.remove(call.principal, record.id)
    return {}


@routes.delete("plumbing/purge/restream")
def purge_restream_queue(call: Call) -> dict[str, Any]:
    """Empty the restream queue."""
    purged = call.app.restream.purge(call.principal)
    return {"purged": purged}


def restream_node(call: Call) -> dict[str, Any]:
    """The restream queue; `availbleForRestream` (sic) is what the client reads."""
    events, size = call.app.restream.size(call.principal)
    stats = {**_stats(call, call.principal.org_id, "restream"), "availbleForRestream": events}
    stats["sizeInBytes"] = size
    return wire.node(wire.RESTREAM_ID, "Restream", "RESTREAM", "INPUT", stats=stats, configuration={})


def output_node(call: Call) -> dict[str, Any]:
    """The output, its secrets masked."""
    outputs = call.app.pipeline_outputs
    record = outputs.get(call.principal)
    return wire.node(
        str(record.uuid),
        record.name,
        record.type,
        "OUTPUT",
        stats=_stats(call, call.principal.org_id, "output"),
        configuration=outputs.shown_configuration(record),
    )


def _stats(call: Call, org_id: int, node: str) -> dict[str, Any]:
    metrics = call.app.pipeline_metrics
    return {"throughput": metrics.throughput(org_id, node), "latency": metrics.latency(org_id, node)}
