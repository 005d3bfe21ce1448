"""Data sources."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from openlytics.api import serializers as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams

router = APIRouter(tags=["data sources"])


class NewSourceBody(Body):
    name: str
    url: str
    options: dict[str, Any] | None = None


class SourceChangesBody(Body):
    name: str | None = None
    url: str | None = None
    options: dict[str, Any] | None = None


@router.get("/data-sources")
def list_sources(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """Data sources of the organization (the warehouse first)."""
    page = app.sources.list(principal, page=paging.page, per_page=paging.per_page)
    return ser.page_of(page, [ser.data_source(s, app.sources) for s in page.items])


@router.post("/data-sources", status_code=201)
def create_source(body: NewSourceBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Add an external database by SQLAlchemy URL (admins)."""
    source = app.sources.create(principal, name=body.name, url=body.url, options=body.options)
    return ser.data_source(source, app.sources)


@router.get("/data-sources/{source_id}")
def get_source(source_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One data source."""
    return ser.data_source(app.sources.get(principal, source_id), app.sources)


@router.patch("/data-sources/{source_id}")
def update_source(
    source_id: int, body: SourceChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Rename, re-point or re-configure a source (admins)."""
    source = app.sources.update(principal, source_id, **body.model_dump(exclude_unset=True))
    return ser.data_source(source, app.sources)


@router.delete("/data-sources/{source_id}", status_code=204)
def delete_source(source_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Remove an external source (admins)."""
    app.sources.delete(principal, source_id)
    return Response(status_code=204)


@router.post("/data-sources/{source_id}/test")
def test_source(source_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Connect and run a trivial statement."""
    app.sources.test(principal, source_id)
    return {"ok": True}


@router.get("/data-sources/{source_id}/schema")
def source_schema(source_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Tables and columns with types."""
    return {"tables": [ser.table(t) for t in app.sources.schema(principal, source_id)]}


@router.post("/data-sources/{source_id}/invalidate-cache")
def invalidate_cache(source_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Make every cached result of the source stale."""
    return ser.data_source(app.sources.invalidate_cache(principal, source_id), app.sources)
