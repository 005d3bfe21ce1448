"""Alerts, their subscriptions, and notification destinations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from openlytics.dialects.tonalytica import wire
from openlytics.dialects.tonalytica.auth import Caller, app_of
from openlytics.dialects.tonalytica.routes.common import Body, int_field
from openlytics.store.models import Alert, AlertSubscription

router = APIRouter()

DESTINATION_TYPES = [
    {
        "type": "email",
        "name": "Email",
        "icon": "fa-envelope",
        "configuration_schema": {
            "type": "object",
            "properties": {"addresses": {"type": "string"}},
            "required": ["addresses"],
        },
    },
    {
        "type": "webhook",
        "name": "Webhook",
        "icon": "fa-bolt",
        "configuration_schema": {
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "username": {"type": "string"},
                "password": {"type": "string"},
            },
            "required": ["url"],
            "secret": ["password"],
        },
    },
]


@router.get("/alerts")
def alerts(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """GET alerts (`alerts`): not paginated."""
    app = app_of(request)
    return [_alert(app, caller, a) for a in app.alerts.list(caller)]


@router.post("/alerts")
def create_alert(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST alerts (`create_alert`)."""
    app = app_of(request)
    alert = app.alerts.create(
        caller,
        name=body.get("name"),
        query_id=int_field(body, "query_id"),
        options=body.get("options"),
        rearm=body.get("rearm"),
    )
    return _alert(app, caller, alert)


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET alerts/<id> (`get_alert`)."""
    app = app_of(request)
    return _alert(app, caller, app.alerts.get(caller, alert_id))


@router.post("/alerts/{alert_id}")
def update_alert(alert_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST alerts/<id> (`update_alert`): only the fields given."""
    app = app_of(request)
    changes: dict[str, Any] = {k: body[k] for k in ("name", "options", "rearm", "muted") if k in body}
    if "query_id" in body:
        changes["query_id"] = int_field(body, "query_id")
    return _alert(app, caller, app.alerts.update(caller, alert_id, **changes))


@router.delete("/alerts/{alert_id}")
def delete_alert(alert_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE alerts/<id>."""
    app_of(request).alerts.delete(caller, alert_id)
    return {}


@router.post("/alerts/{alert_id}/mute")
def mute_alert(alert_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """POST alerts/<id>/mute."""
    app = app_of(request)
    return _alert(app, caller, app.alerts.update(caller, alert_id, muted=True))


@router.delete("/alerts/{alert_id}/mute")
def unmute_alert(alert_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE alerts/<id>/mute."""
    app = app_of(request)
    return _alert(app, caller, app.alerts.update(caller, alert_id, muted=False))


@router.get("/alerts/{alert_id}/subscriptions")
def alert_subscriptions(alert_id: int, request: Request, caller: Caller) -> list[dict[str, Any]]:
    """GET alerts/<id>/subscriptions."""
    app = app_of(request)
    return [_subscription(app, caller, s) for s in app.alerts.subscriptions(caller, alert_id)]


@router.post("/alerts/{alert_id}/subscriptions")
def subscribe(alert_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST alerts/<id>/subscriptions: a destination, or the caller by e-mail."""
    app = app_of(request)
    sub = app.alerts.subscribe(
        caller, alert_id, destination_id=int_field(body, "destination_id", required=False)
    )
    return _subscription(app, caller, sub)


@router.delete("/alerts/{alert_id}/subscriptions/{subscription_id}")
def unsubscribe(alert_id: int, subscription_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE alerts/<id>/subscriptions/<subscription id>."""
    app_of(request).alerts.unsubscribe(caller, alert_id, subscription_id)
    return {}


@router.get("/destinations/types")
def destination_types(caller: Caller) -> list[dict[str, Any]]:
    """GET destinations/types."""
    return DESTINATION_TYPES


@router.get("/destinations")
def destinations(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """GET destinations."""
    app = app_of(request)
    return [
        wire.destination(d, options=app.destinations.public_options(d)) for d in app.destinations.list(caller)
    ]


@router.post("/destinations")
def create_destination(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST destinations: {name, type: email|webhook, options}."""
    app = app_of(request)
    d = app.destinations.create(
        caller, name=body.get("name"), kind=body.get("type"), options=body.get("options")
    )
    return wire.destination(d, options=app.destinations.public_options(d))


@router.get("/destinations/{destination_id}")
def get_destination(destination_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET destinations/<id>."""
    app = app_of(request)
    d = app.destinations.get(caller, destination_id)
    return wire.destination(d, options=app.destinations.public_options(d))


@router.delete("/destinations/{destination_id}")
def delete_destination(destination_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE destinations/<id>."""
    app_of(request).destinations.delete(caller, destination_id)
    return {}


def _alert(app: Openlytics, caller: Principal, alert: Alert) -> dict[str, Any]:
    query = app.queries.get(caller, alert.query_id)
    return wire.alert(alert, query_object=wire.query(query))


def _subscription(app: Openlytics, caller: Principal, sub: AlertSubscription) -> dict[str, Any]:
    user = app.identity.get_user(caller, sub.user_id) if sub.user_id is not None else None
    destination = None
    if sub.destination_id is not None:
        d = app.destinations.get(caller, sub.destination_id)
        destination = wire.destination(d, options=app.destinations.public_options(d))
    return wire.subscription(sub, user_object=user, destination_object=destination)
