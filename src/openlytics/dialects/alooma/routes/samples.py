"""Samples, their status codes and counts; the metric series."""

from __future__ import annotations

import json
import re
from typing import Any

from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline.samples import STATUS_CODES
from openlytics.dialects.alooma.dispatch import Call, Routes
from openlytics.store.models import EventSample

routes = Routes()
SAMPLES_PER_CALL = 10
MINUTES = re.compile(r"^-?(\d+)\s*min$")


@routes.get("status-types")
def get_samples_status_codes(call: Call) -> dict[str, str]:
    """Status code -> description."""
    return dict(STATUS_CODES)


@routes.get("samples/stats")
def get_samples_stats(call: Call) -> dict[str, dict[str, int]]:
    """`{event type: {status: count}}`."""
    return call.app.pipeline_samples.stats(call.principal)


@routes.get("samples")
def get_samples(call: Call) -> list[dict[str, Any]]:
    """Up to ten recent events (of an event type, with some statuses)."""
    statuses = [s for s in call.query.get("status", []) if s] or None
    found = call.app.pipeline_samples.samples(
        call.principal, event_type=call.arg("eventType") or None, statuses=statuses, limit=SAMPLES_PER_CALL
    )
    return [_sample(s) for s in found]


@routes.get("metrics")
def get_metrics_by_names(call: Call) -> list[dict[str, Any]]:
    """`[{"target", "datapoints": [[value, epoch seconds], ...]}]`, in the order asked."""
    names = [n.strip().upper() for n in (call.arg("metrics") or "").split(",") if n.strip()]
    if not names:
        raise InvalidInputError("metrics", "a comma-separated list of metric names")
    minutes = _minutes(call.arg("from") or "-60min", "from")
    resolution = _minutes(call.arg("resolution") or f"{minutes}min", "resolution")
    return call.app.pipeline_metrics.series(call.principal, names, minutes, resolution)


def _sample(s: EventSample) -> dict[str, Any]:
    return {
        "sample": json.loads(s.event),
        "eventType": s.event_type,
        "status": s.status,
        "error": s.error,
        "inputId": s.input_id,
        "timestamp": int(s.created_at.timestamp() * 1000),
    }


def _minutes(value: str, field: str) -> int:
    match = MINUTES.match(value.strip())
    if match is None or int(match.group(1)) < 1:
        raise InvalidInputError(field, "minutes, e.g. -60min")
    return int(match.group(1))
