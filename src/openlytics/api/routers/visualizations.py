"""Visualizations: how a saved query's result is drawn."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from openlytics.api import serializers_dashboards as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.api.serializers import page_of

router = APIRouter(tags=["visualizations"])


class VisualizationChangesBody(Body):
    name: str | None = None
    description: str | None = None
    type: str | None = None
    options: dict[str, Any] | None = None


class NewVisualizationBody(VisualizationChangesBody):
    query_id: int
    type: str


@router.get("/queries/{query_id}/visualizations")
def list_visualizations(
    query_id: int, app: App, principal: CurrentPrincipal, paging: PageParams
) -> dict[str, Any]:
    """The visualizations of a query, oldest first."""
    app.queries.get(principal, query_id)  # the query must exist and be visible to the caller
    found = app.visualizations.for_queries(principal, [query_id])[query_id]
    page = ser.page_of_list(found, paging.page, paging.per_page)
    return page_of(page, [ser.visualization(v) for v in page.items])


@router.post("/visualizations", status_code=201)
def create_visualization(body: NewVisualizationBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Add a visualization to a query; its options must fit the query's latest columns."""
    return ser.visualization(app.visualizations.create(principal, **body.model_dump()))


@router.get("/visualizations/{visualization_id}")
def get_visualization(visualization_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One visualization."""
    return ser.visualization(app.visualizations.get(principal, visualization_id))


@router.patch("/visualizations/{visualization_id}")
def update_visualization(
    visualization_id: int, body: VisualizationChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Change name, description, type or options."""
    changes = body.model_dump(exclude_unset=True)
    return ser.visualization(app.visualizations.update(principal, visualization_id, **changes))


@router.delete("/visualizations/{visualization_id}", status_code=204)
def delete_visualization(visualization_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a visualization and the widgets that show it."""
    app.visualizations.delete(principal, visualization_id)
    return Response(status_code=204)
