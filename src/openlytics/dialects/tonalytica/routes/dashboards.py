"""Dashboards, widgets and visualizations; favorites and public sharing of dashboards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.activity import ActivityKind
from openlytics.core.dashboards import PlacedWidget
from openlytics.core.principal import Principal
from openlytics.dialects.tonalytica import wire
from openlytics.dialects.tonalytica.auth import Caller, app_of
from openlytics.dialects.tonalytica.routes import present
from openlytics.dialects.tonalytica.routes.common import Body, PageParams, base_url, int_field

router = APIRouter()

# Redash dashboard fields -> ours; others (id, slug, user, widgets, version, ...) are ignored.
DASHBOARD_FIELDS = {
    "name": "name",
    "tags": "tags",
    "is_draft": "is_draft",
    "dashboard_filters_enabled": "filters_enabled",
}


@router.get("/dashboards")
def dashboards(
    request: Request, caller: Caller, paging: PageParams, q: str | None = None, tags: str | None = None
) -> dict[str, Any]:
    """GET dashboards: the paginated list (`dashboards`)."""
    return _list(app_of(request), caller, paging, q, tags, favorites_only=False)


@router.get("/dashboards/favorites")
def favorite_dashboards(
    request: Request, caller: Caller, paging: PageParams, q: str | None = None, tags: str | None = None
) -> dict[str, Any]:
    """GET dashboards/favorites (`dashboards(only_favorites=True)`)."""
    return _list(app_of(request), caller, paging, q, tags, favorites_only=True)


def _list(
    app: Openlytics,
    caller: Principal,
    paging: PageParams,
    q: str | None,
    tag: str | None,
    *,
    favorites_only: bool,
) -> dict[str, Any]:
    page = app.dashboards.list(
        caller, search=q, tag=tag, favorites_only=favorites_only, page=paging.page, per_page=paging.page_size
    )
    return wire.envelope(page, present.dashboards(app, caller, page.items))


@router.post("/dashboards")
def create_dashboard(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST dashboards: a new draft dashboard (`create_dashboard`)."""
    app = app_of(request)
    dashboard = app.dashboards.create(caller, name=body.get("name"), **_dashboard_fields(body, "name"))
    return _full(request, app, caller, dashboard.id)


@router.get("/dashboards/public/{token}")
def public_dashboard(token: str, request: Request) -> dict[str, Any]:
    """GET dashboards/public/<token>: the shared dashboard, for anyone with the link."""
    app = app_of(request)
    principal, dashboard_id = app.public_links.resolve(token)
    return wire.dashboard_detail(app.dashboards.get(principal, dashboard_id))


@router.get("/dashboards/{slug_or_id}")
def get_dashboard(slug_or_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET dashboards/<slug or id> (`dashboard`, `get_dashboard`): slug first, then id."""
    app = app_of(request)
    detail = app.dashboards.get(caller, slug_or_id)
    app.activity.record(
        caller.org_id,
        caller.user_id,
        ActivityKind.DASHBOARD_VIEW,
        object_type="dashboard",
        object_id=detail.dashboard.id,
    )
    return present.full_dashboard(app, caller, detail, _base(request, app))


@router.post("/dashboards/{dashboard_id}")
def update_dashboard(dashboard_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST dashboards/<id> (`update_dashboard`): an empty body changes nothing."""
    app = app_of(request)
    fields = _dashboard_fields(body)
    if "layout" in body:
        current = app.dashboards.get(caller, dashboard_id).dashboard.options or {}
        fields["options"] = {**current, "layout": body["layout"]}
    app.dashboards.update(caller, dashboard_id, **fields)
    return _full(request, app, caller, dashboard_id)


@router.delete("/dashboards/{dashboard_id}")
def archive_dashboard(dashboard_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE dashboards/<id>: archive (and stop sharing)."""
    app = app_of(request)
    app.dashboards.archive(caller, dashboard_id)
    app.public_links.revoke(caller, dashboard_id)
    return _full(request, app, caller, dashboard_id)


@router.post("/dashboards/{dashboard_id}/favorite")
def create_favorite(dashboard_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """POST dashboards/<id>/favorite (`create_favorite("dashboard", id)`)."""
    app_of(request).favorites.add(caller, "dashboard", dashboard_id)
    return {}


@router.delete("/dashboards/{dashboard_id}/favorite")
def delete_favorite(dashboard_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE dashboards/<id>/favorite."""
    app_of(request).favorites.remove(caller, "dashboard", dashboard_id)
    return {}


@router.post("/dashboards/{dashboard_id}/share")
def publish_dashboard(dashboard_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """POST dashboards/<id>/share: a public URL reaching only this dashboard, read-only."""
    app = app_of(request)
    token = app.public_links.share(caller, dashboard_id)
    return {"public_url": present.public_url(_base(request, app), token), "api_key": token}


@router.delete("/dashboards/{dashboard_id}/share")
def unshare_dashboard(dashboard_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE dashboards/<id>/share: revoke the public URL."""
    app_of(request).public_links.revoke(caller, dashboard_id)
    return {}


@router.post("/widgets")
def create_widget(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST widgets (`create_widget`, `add_widget`): a visualization or text on a dashboard."""
    placed = app_of(request).dashboards.add_widget(
        caller,
        dashboard_id=int_field(body, "dashboard_id"),
        visualization_id=int_field(body, "visualization_id", required=False),
        text=body.get("text") or "",
        width=body.get("width", 1),
        options=body.get("options"),
    )
    return wire.widget(placed)


@router.post("/widgets/{widget_id}")
def update_widget(widget_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST widgets/<id>: text, width or options (position)."""
    changes = {k: body[k] for k in ("text", "width", "options") if k in body}
    placed: PlacedWidget = app_of(request).dashboards.update_widget(caller, widget_id, **changes)
    return wire.widget(placed)


@router.delete("/widgets/{widget_id}")
def delete_widget(widget_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE widgets/<id>."""
    app_of(request).dashboards.delete_widget(caller, widget_id)
    return {}


@router.post("/visualizations")
def create_visualization(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST visualizations (`create_visualization`): options must fit the query's columns."""
    viz = app_of(request).visualizations.create(
        caller,
        query_id=int_field(body, "query_id"),
        type=body.get("type"),
        name=body.get("name"),
        description=body.get("description"),
        options=body.get("options"),
    )
    return wire.visualization(viz)


@router.post("/visualizations/{visualization_id}")
def update_visualization(
    visualization_id: int, request: Request, caller: Caller, body: Body
) -> dict[str, Any]:
    """POST visualizations/<id> (`update_visualization`)."""
    changes = {k: body[k] for k in ("name", "description", "type", "options") if k in body}
    return wire.visualization(app_of(request).visualizations.update(caller, visualization_id, **changes))


@router.delete("/visualizations/{visualization_id}")
def delete_visualization(visualization_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE visualizations/<id> (and the widgets showing it)."""
    app_of(request).visualizations.delete(caller, visualization_id)
    return {}


def _dashboard_fields(body: dict[str, Any], *skip: str) -> dict[str, Any]:
    fields = {
        ours: body[theirs]
        for theirs, ours in DASHBOARD_FIELDS.items()
        if theirs in body and theirs not in skip
    }
    if fields.get("tags") is None:
        fields.pop("tags", None)
    return fields


def _full(request: Request, app: Openlytics, caller: Principal, dashboard_id: int) -> dict[str, Any]:
    return present.full_dashboard(app, caller, app.dashboards.get(caller, dashboard_id), _base(request, app))


def _base(request: Request, app: Openlytics) -> str:
    return base_url(request, app.settings.public_url)
