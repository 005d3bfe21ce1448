"""Gathering what a Redash shape shows besides the object itself (schedules, stars, widgets)."""

from __future__ import annotations

from typing import Any

from openlytics.app import Openlytics
from openlytics.core.dashboards import DashboardDetail
from openlytics.core.principal import Action, Principal
from openlytics.dialects.tonalytica import wire
from openlytics.store.models import Dashboard, Query

REFRESH_KIND = "query_refresh"


def queries(app: Openlytics, principal: Principal, items: list[Query]) -> list[dict[str, Any]]:
    """Queries as listed, with their schedules and the caller's stars."""
    ids = [q.id for q in items]
    schedules = _schedules(app, principal, ids)
    starred = app.favorites.starred(principal, "query", ids)
    return [wire.query(q, schedule_object=schedules.get(q.id), is_favorite=q.id in starred) for q in items]


def full_query(app: Openlytics, principal: Principal, q: Query) -> dict[str, Any]:
    """One query with its visualizations, schedule and (for those who may see it) its API key."""
    visualizations = app.visualizations.for_queries(principal, [q.id])[q.id]
    schedule = _schedules(app, principal, [q.id]).get(q.id)
    starred = app.favorites.starred(principal, "query", [q.id])
    api_key = app.identity.reveal_query_key(principal, q.id) if principal.can(Action.WRITE) else None
    return wire.query(
        q,
        schedule_object=schedule,
        visualizations=visualizations,
        is_favorite=q.id in starred,
        api_key=api_key,
        can_edit=principal.can(Action.WRITE),
    )


def dashboards(app: Openlytics, principal: Principal, items: list[Dashboard]) -> list[dict[str, Any]]:
    """Dashboards as listed, with the caller's stars."""
    starred = app.favorites.starred(principal, "dashboard", [d.id for d in items])
    return [wire.dashboard(d, is_favorite=d.id in starred) for d in items]


def full_dashboard(
    app: Openlytics, principal: Principal, detail: DashboardDetail, public_base: str
) -> dict[str, Any]:
    """One dashboard with widgets, star and public URL."""
    d = detail.dashboard
    starred = app.favorites.starred(principal, "dashboard", [d.id])
    token = app.public_links.current(principal, d.id)
    return wire.dashboard_detail(
        detail,
        is_favorite=d.id in starred,
        public_url=public_url(public_base, token) if token else None,
        can_edit=principal.can(Action.WRITE),
    )


def public_url(base: str, token: str) -> str:
    """The page anyone with the link can open."""
    return f"{base}/public/dashboards/{token}"


def _schedules(app: Openlytics, principal: Principal, ids: list[int]) -> dict[int, Any]:
    if principal.is_query_key:
        return {}
    return app.schedules.for_targets(principal, REFRESH_KIND, ids)
