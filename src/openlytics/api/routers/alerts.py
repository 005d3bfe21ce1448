"""Alerts on query results, who they notify, and the notification destinations."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from openlytics.api import serializers_dashboards as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.api.serializers import page_of

router = APIRouter(tags=["alerts"])


class NewAlertBody(Body):
    name: str
    query_id: int
    options: dict[str, Any]
    rearm: int | None = None


class AlertChangesBody(Body):
    name: str | None = None
    query_id: int | None = None
    options: dict[str, Any] | None = None
    rearm: int | None = None
    muted: bool | None = None


class SubscriptionBody(Body):
    destination_id: int | None = None


class NewDestinationBody(Body):
    name: str
    kind: Literal["email", "webhook"]
    options: dict[str, Any]


# ----- alerts ------------------------------------------------------------------------------
@router.get("/alerts")
def list_alerts(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """Alerts of the organization, oldest first."""
    page = ser.page_of_list(app.alerts.list(principal), paging.page, paging.per_page)
    return page_of(page, [ser.alert(a) for a in page.items])


@router.post("/alerts", status_code=201)
def create_alert(body: NewAlertBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new alert on a saved query (its author is subscribed by e-mail)."""
    return ser.alert(app.alerts.create(principal, **body.model_dump()))


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One alert."""
    return ser.alert(app.alerts.get(principal, alert_id))


@router.patch("/alerts/{alert_id}")
def update_alert(
    alert_id: int, body: AlertChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Change name, query, condition, rearm or muted."""
    return ser.alert(app.alerts.update(principal, alert_id, **body.model_dump(exclude_unset=True)))


@router.delete("/alerts/{alert_id}", status_code=204)
def delete_alert(alert_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete an alert."""
    app.alerts.delete(principal, alert_id)
    return Response(status_code=204)


# ----- subscriptions -----------------------------------------------------------------------
@router.get("/alerts/{alert_id}/subscriptions")
def list_subscriptions(
    alert_id: int, app: App, principal: CurrentPrincipal, paging: PageParams
) -> dict[str, Any]:
    """Who hears of an alert."""
    page = ser.page_of_list(app.alerts.subscriptions(principal, alert_id), paging.page, paging.per_page)
    return page_of(page, [ser.subscription(s) for s in page.items])


@router.post("/alerts/{alert_id}/subscriptions", status_code=201)
def subscribe(
    alert_id: int, app: App, principal: CurrentPrincipal, body: SubscriptionBody | None = None
) -> dict[str, Any]:
    """Subscribe a destination, or the caller by e-mail when no destination is given."""
    destination_id = body.destination_id if body is not None else None
    return ser.subscription(app.alerts.subscribe(principal, alert_id, destination_id=destination_id))


@router.delete("/alerts/{alert_id}/subscriptions/{subscription_id}", status_code=204)
def unsubscribe(alert_id: int, subscription_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Remove a subscription (one's own, or any for editors)."""
    app.alerts.unsubscribe(principal, alert_id, subscription_id)
    return Response(status_code=204)


# ----- destinations ------------------------------------------------------------------------
@router.get("/destinations")
def list_destinations(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """Notification destinations of the organization (secrets masked)."""
    page = ser.page_of_list(app.destinations.list(principal), paging.page, paging.per_page)
    return page_of(page, [ser.destination(d, app.destinations.public_options(d)) for d in page.items])


@router.post("/destinations", status_code=201)
def create_destination(body: NewDestinationBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new e-mail list or webhook (admins)."""
    created = app.destinations.create(principal, name=body.name, kind=body.kind, options=body.options)
    return ser.destination(created, app.destinations.public_options(created))


@router.get("/destinations/{destination_id}")
def get_destination(destination_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One destination (secrets masked)."""
    found = app.destinations.get(principal, destination_id)
    return ser.destination(found, app.destinations.public_options(found))


class DestinationChangesBody(Body):
    name: str | None = None
    options: dict[str, Any] | None = None


@router.patch("/destinations/{destination_id}")
def update_destination(
    destination_id: int, body: DestinationChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Rename a destination or replace its options (admins)."""
    found = app.destinations.update(principal, destination_id, name=body.name, options=body.options)
    return ser.destination(found, app.destinations.public_options(found))


@router.delete("/destinations/{destination_id}", status_code=204)
def delete_destination(destination_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a destination and the subscriptions to it (admins)."""
    app.destinations.delete(principal, destination_id)
    return Response(status_code=204)
