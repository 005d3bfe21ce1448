"""Dashboards and their widgets; stars, public links, and dashboards drawn as PNG or PDF."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from openlytics.api import serializers_dashboards as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.api.serializers import page_of
from openlytics.app import Openlytics
from openlytics.core.activity import ActivityKind
from openlytics.core.dashboards import DashboardDetail
from openlytics.core.principal import Principal

router = APIRouter(tags=["dashboards"])


class DashboardChangesBody(Body):
    name: str | None = None
    tags: list[str] | None = None
    is_draft: bool | None = None
    filters_enabled: bool | None = None
    options: dict[str, Any] | None = None


class NewDashboardBody(DashboardChangesBody):
    name: str


class WidgetChangesBody(Body):
    text: str | None = None
    width: int | None = None
    options: dict[str, Any] | None = None


class NewWidgetBody(Body):
    visualization_id: int | None = None
    text: str = ""
    width: int = 1
    options: dict[str, Any] | None = None


@router.get("/dashboards")
def list_dashboards(
    app: App,
    principal: CurrentPrincipal,
    paging: PageParams,
    search: str | None = None,
    tag: str | None = None,
    favorites: bool = False,
    include_archived: bool = False,
) -> dict[str, Any]:
    """Dashboards, most recently changed first; `search` looks in names and slugs."""
    page = app.dashboards.list(
        principal,
        search=search,
        tag=tag,
        favorites_only=favorites,
        include_archived=include_archived,
        page=paging.page,
        per_page=paging.per_page,
    )
    starred = app.favorites.starred(principal, "dashboard", [d.id for d in page.items])
    return page_of(page, [ser.dashboard(d, is_favorite=d.id in starred) for d in page.items])


@router.post("/dashboards", status_code=201)
def create_dashboard(
    body: NewDashboardBody, request: Request, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A new, empty draft dashboard."""
    dashboard = app.dashboards.create(principal, **body.model_dump(exclude_none=True))
    return _detail(request, app, principal, app.dashboards.get(principal, dashboard.id))


@router.get("/dashboards/{ref}")
def get_dashboard(ref: str, request: Request, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One dashboard, by slug or id, with its widgets (counted as a view)."""
    detail = app.dashboards.get(principal, ref)
    app.activity.record(
        principal.org_id,
        principal.user_id,
        ActivityKind.DASHBOARD_VIEW,
        object_type="dashboard",
        object_id=detail.dashboard.id,
    )
    return _detail(request, app, principal, detail)


@router.patch("/dashboards/{dashboard_id}")
def update_dashboard(
    dashboard_id: int, body: DashboardChangesBody, request: Request, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Change name, tags, draft state, filters or options."""
    app.dashboards.update(principal, dashboard_id, **body.model_dump(exclude_unset=True))
    return _detail(request, app, principal, app.dashboards.get(principal, dashboard_id))


@router.delete("/dashboards/{dashboard_id}", status_code=204)
def archive_dashboard(dashboard_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Archive a dashboard and stop sharing it."""
    app.dashboards.archive(principal, dashboard_id)
    app.public_links.revoke(principal, dashboard_id)
    return Response(status_code=204)


@router.post("/dashboards/{dashboard_id}/favorite", status_code=204)
def star_dashboard(dashboard_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Star a dashboard for the caller."""
    app.favorites.add(principal, "dashboard", dashboard_id)
    return Response(status_code=204)


@router.delete("/dashboards/{dashboard_id}/favorite", status_code=204)
def unstar_dashboard(dashboard_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Remove the caller's star."""
    app.favorites.remove(principal, "dashboard", dashboard_id)
    return Response(status_code=204)


@router.post("/dashboards/{dashboard_id}/share")
def share_dashboard(
    dashboard_id: int, request: Request, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The dashboard's public link (made on first call): anyone with the URL sees it, read-only."""
    token = app.public_links.share(principal, dashboard_id)
    return {"token": token, "url": public_url(request, app, token)}


@router.delete("/dashboards/{dashboard_id}/share", status_code=204)
def unshare_dashboard(dashboard_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Revoke the public link."""
    app.public_links.revoke(principal, dashboard_id)
    return Response(status_code=204)


@router.get("/dashboards/{ref}/image.png", response_class=Response)
async def dashboard_image(
    ref: str, app: App, principal: CurrentPrincipal, thumbnail: bool = False
) -> Response:
    """The dashboard drawn as a PNG, 1200 pixels wide (about 400 as a thumbnail)."""
    image = await run_in_threadpool(app.renders.png, principal, ref, thumbnail=thumbnail)
    return Response(image, media_type="image/png")


@router.get("/dashboards/{ref}/document.pdf", response_class=Response)
async def dashboard_document(ref: str, app: App, principal: CurrentPrincipal) -> Response:
    """The dashboard as a one-page PDF."""
    document = await run_in_threadpool(app.renders.pdf, principal, ref)
    return Response(document, media_type="application/pdf")


@router.post("/dashboards/{dashboard_id}/widgets", status_code=201)
def add_widget(
    dashboard_id: int, body: NewWidgetBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Place a visualization or a text box on a dashboard (position in `options.position`)."""
    placed = app.dashboards.add_widget(principal, dashboard_id=dashboard_id, **body.model_dump())
    return ser.widget(placed)


@router.patch("/widgets/{widget_id}")
def update_widget(
    widget_id: int, body: WidgetChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Change a widget's text, width or options."""
    return ser.widget(
        app.dashboards.update_widget(principal, widget_id, **body.model_dump(exclude_unset=True))
    )


@router.delete("/widgets/{widget_id}", status_code=204)
def delete_widget(widget_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Remove a widget from its dashboard."""
    app.dashboards.delete_widget(principal, widget_id)
    return Response(status_code=204)


def public_url(request: Request, app: Openlytics, token: str) -> str:
    """Where anyone with the link opens the dashboard: under the configured public URL, else ours."""
    base = (app.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/public/dashboards/{token}"


def _detail(
    request: Request, app: Openlytics, principal: Principal, detail: DashboardDetail
) -> dict[str, Any]:
    dashboard_id = detail.dashboard.id
    starred = app.favorites.starred(principal, "dashboard", [dashboard_id])
    token = app.public_links.current(principal, dashboard_id)
    return ser.dashboard_detail(
        detail,
        is_favorite=dashboard_id in starred,
        public_url=public_url(request, app, token) if token else None,
    )
