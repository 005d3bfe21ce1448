"""The event pipeline under /pipeline: the restream queue, samples, metrics, notifications, settings;
inputs (pipeline_inputs), event types and code (pipeline_mapping), the output (pipeline_output)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from openlytics.api import serializers_pipeline as pser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers import pipeline_inputs, pipeline_mapping, pipeline_output
from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline.metrics import METRIC_NAMES
from openlytics.core.pipeline.samples import RESTREAMED, STATUS_CODES
from openlytics.core.principal import Action
from openlytics.store.types import utcnow

router = APIRouter(prefix="/pipeline", tags=["pipeline"])

DEFAULT_METRICS = ("INCOMING_EVENTS", "LOADED_EVENTS_RATE", "ERROR_EVENTS", "UNMAPPED_EVENTS")


# ----- restream queue -----------------------------------------------------------------------------
@router.get("/restream")
def restream_size(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Events waiting in the restream queue, and their bytes."""
    events, size = app.restream.size(principal)
    return {"events": events, "bytes": size}


@router.post("/restream")
def restream(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Send every queued event through the pipeline again (oldest first)."""
    return {"restreamed": app.restream.restream(principal)}


@router.delete("/restream")
def purge_restream(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Delete every queued event."""
    return {"purged": app.restream.purge(principal)}


# ----- samples ------------------------------------------------------------------------------------
@router.get("/samples")
def samples(
    app: App,
    principal: CurrentPrincipal,
    event_type: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> dict[str, Any]:
    """The newest samples (the events as they entered), of one event type and some statuses
    (`status=TRANSFORM_ERROR,TYPE_MISMATCH`)."""
    statuses = [s for s in (status or "").split(",") if s.strip()]
    found = app.pipeline_samples.samples(principal, event_type=event_type, statuses=statuses, limit=limit)
    return {"items": [pser.sample(s) for s in found]}


@router.get("/samples/stats")
def sample_stats(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """How many events of each type ended with each status: `{"stats": {type: {status: n}}}`."""
    return {"stats": app.pipeline_samples.stats(principal)}


@router.get("/status-codes")
def status_codes(principal: CurrentPrincipal) -> dict[str, Any]:
    """What each status of an event means, and whether its events wait in the restream queue."""
    principal.require(Action.READ, "status codes")
    items = [
        {"code": code, "description": text, "restreamed": code in RESTREAMED}
        for code, text in STATUS_CODES.items()
    ]
    return {"items": items}


# ----- metrics and notifications ------------------------------------------------------------------
@router.get("/metrics")
def metrics(
    app: App,
    principal: CurrentPrincipal,
    names: str | None = None,
    minutes: Annotated[int, Query(ge=1)] = 60,
    resolution: Annotated[int, Query(ge=1)] = 1,
) -> dict[str, Any]:
    """Series of minute metrics over the last `minutes`, one point per `resolution` minutes
    (`names=INCOMING_EVENTS,ERROR_EVENTS`; default: incoming, loaded rate, errors, unmapped)."""
    wanted = [n.strip().upper() for n in names.split(",") if n.strip()] if names else list(DEFAULT_METRICS)
    series = app.pipeline_metrics.series(principal, wanted, minutes, resolution)
    return {"minutes": minutes, "resolution": resolution, "series": pser.metric_series(series)}


@router.get("/metric-names")
def metric_names(principal: CurrentPrincipal) -> dict[str, Any]:
    """The metrics `/metrics` draws."""
    principal.require(Action.READ, "metrics")
    return {"items": list(METRIC_NAMES)}


@router.get("/notifications")
def notifications(app: App, principal: CurrentPrincipal, since: datetime | None = None) -> dict[str, Any]:
    """Notifications created or repeated since `since` (ISO; default: the last 24 hours)."""
    moment = since or utcnow() - timedelta(days=1)
    if moment.tzinfo is None:
        raise InvalidInputError("since", "an ISO-8601 time with a zone, e.g. 2026-11-23T12:00:00Z")
    return {"items": [pser.notification(n) for n in app.pipeline_notifications.since(principal, moment)]}


# ----- settings -----------------------------------------------------------------------------------
@router.get("/settings/email-notifications")
def email_notifications(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The e-mail digest settings."""
    return app.pipeline_settings.email_notifications(principal)


@router.put("/settings/email-notifications")
def set_email_notifications(
    document: dict[str, Any], app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Replace the e-mail digest settings (missing keys take the defaults)."""
    return app.pipeline_settings.set_email_notifications(principal, document)


@router.get("/settings/s3-retention")
def s3_retention(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Where raw events are archived (the secret masked; all null when not set)."""
    return app.pipeline_settings.s3_retention(principal)


@router.put("/settings/s3-retention")
def set_s3_retention(document: dict[str, Any], app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Set the archive (`awsBucketName`, `awsAccessKeyId`, `awsSecretAccessKey`, ...)."""
    return app.pipeline_settings.set_s3_retention(principal, document)


@router.delete("/settings/s3-retention", status_code=204)
def delete_s3_retention(app: App, principal: CurrentPrincipal) -> Response:
    """Stop archiving."""
    app.pipeline_settings.delete_s3_retention(principal)
    return Response(status_code=204)


router.include_router(pipeline_inputs.router)
router.include_router(pipeline_mapping.router)
router.include_router(pipeline_output.router)
