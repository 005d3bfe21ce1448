"""Dashboards, widgets, visualizations, alerts and destinations to the JSON shapes of docs/api.md."""

from __future__ import annotations

from typing import Any

from openlytics.api.serializers import iso
from openlytics.core.dashboards import DashboardDetail, PlacedWidget, position_of
from openlytics.core.pagination import Page
from openlytics.store.models import (
    Alert,
    AlertSubscription,
    Dashboard,
    NotificationDestination,
    User,
    Visualization,
)


def _owner(obj: Any) -> dict[str, Any] | None:
    owner: User | None = obj.__dict__.get("user")  # loaded by the service, never lazily here
    return {"id": owner.id, "name": owner.name} if owner is not None else None


def dashboard(d: Dashboard, *, is_favorite: bool = False) -> dict[str, Any]:
    """Dashboard, as listed (no widgets)."""
    return {
        "id": d.id,
        "uuid": str(d.uuid),
        "name": d.name,
        "slug": d.slug,
        "tags": list(d.tags or []),
        "is_draft": d.is_draft,
        "is_archived": d.is_archived,
        "filters_enabled": d.filters_enabled,
        "options": d.options or {},
        "version": d.version,
        "is_favorite": is_favorite,
        "user": _owner(d),
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
    }


def dashboard_detail(
    detail: DashboardDetail, *, is_favorite: bool = False, public_url: str | None = None
) -> dict[str, Any]:
    """Dashboard with its widgets (ordered by position) and its public URL when shared."""
    body = dashboard(detail.dashboard, is_favorite=is_favorite)
    body["widgets"] = [widget(p) for p in detail.widgets]
    body["public_url"] = public_url
    return body


def widget(placed: PlacedWidget) -> dict[str, Any]:
    """Widget: a visualization (with its query's id and name) or a text box."""
    w = placed.widget
    return {
        "id": w.id,
        "uuid": str(w.uuid),
        "dashboard_id": w.dashboard_id,
        "visualization_id": w.visualization_id,
        "text": w.text or "",
        "width": w.width,
        "options": w.options or {},
        "position": position_of(w),
        "visualization": visualization(placed.visualization) if placed.visualization is not None else None,
        "query": {"id": placed.query.id, "name": placed.query.name} if placed.query is not None else None,
        "created_at": iso(w.created_at),
        "updated_at": iso(w.updated_at),
    }


def visualization(v: Visualization) -> dict[str, Any]:
    """Visualization."""
    return {
        "id": v.id,
        "uuid": str(v.uuid),
        "query_id": v.query_id,
        "type": v.type,
        "name": v.name,
        "description": v.description,
        "options": v.options or {},
        "created_at": iso(v.created_at),
        "updated_at": iso(v.updated_at),
    }


def alert(a: Alert) -> dict[str, Any]:
    """Alert."""
    return {
        "id": a.id,
        "uuid": str(a.uuid),
        "name": a.name,
        "query_id": a.query_id,
        "options": a.options or {},
        "state": a.state,
        "rearm": a.rearm,
        "muted": a.muted,
        "last_triggered_at": iso(a.last_triggered_at),
        "user": _owner(a),
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
    }


def subscription(s: AlertSubscription) -> dict[str, Any]:
    """AlertSubscription: a user (by e-mail) or a destination."""
    return {
        "id": s.id,
        "uuid": str(s.uuid),
        "alert_id": s.alert_id,
        "user_id": s.user_id,
        "destination_id": s.destination_id,
        "created_at": iso(s.created_at),
    }


def destination(d: NotificationDestination, options: dict[str, Any]) -> dict[str, Any]:
    """Destination, with its options as given (secrets already masked by the caller)."""
    return {
        "id": d.id,
        "uuid": str(d.uuid),
        "name": d.name,
        "kind": d.kind,
        "options": options,
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
    }


def page_of_list(items: list[Any], page: int, per_page: int) -> Page[Any]:
    """One page of a list a service returns whole (alerts, destinations, a query's visualizations)."""
    start = (page - 1) * per_page
    return Page(items[start : start + per_page], page, per_page, len(items))
