"""Saved queries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from openlytics.api import serializers as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.api.routers.runs import RunBody, run_response

router = APIRouter(tags=["queries"])


class QueryChangesBody(Body):
    name: str | None = None
    sql: str | None = None
    data_source_id: int | None = None
    description: str | None = None
    parameters: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    timeout: float | None = None
    options: dict[str, Any] | None = None
    is_draft: bool | None = None


class NewQueryBody(QueryChangesBody):
    name: str
    sql: str


@router.get("/queries")
def list_queries(
    app: App,
    principal: CurrentPrincipal,
    paging: PageParams,
    q: str | None = None,
    tag: str | None = None,
    include_archived: bool = False,
) -> dict[str, Any]:
    """Queries, newest first; `q` searches name, description and SQL."""
    page = app.queries.list(
        principal,
        search=q,
        tag=tag,
        include_archived=include_archived,
        page=paging.page,
        per_page=paging.per_page,
    )
    return ser.page_of(page, [ser.query(x) for x in page.items])


@router.post("/queries", status_code=201)
def create_query(body: NewQueryBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Save a query."""
    return ser.query(app.queries.create(principal, **body.model_dump(exclude_none=True)))


@router.get("/queries/{query_id}")
def get_query(query_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One query."""
    return ser.query(app.queries.get(principal, query_id))


@router.patch("/queries/{query_id}")
def update_query(
    query_id: int, body: QueryChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Edit a query."""
    changes = body.model_dump(exclude_unset=True)
    return ser.query(app.queries.update(principal, query_id, **changes))


@router.delete("/queries/{query_id}", status_code=204)
def archive_query(query_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Archive a query."""
    app.queries.archive(principal, query_id)
    return Response(status_code=204)


@router.post("/queries/{query_id}/fork", status_code=201)
def fork_query(query_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Copy a query."""
    return ser.query(app.queries.fork(principal, query_id))


@router.post("/queries/{query_id}/run")
def run_query(
    query_id: int, app: App, principal: CurrentPrincipal, body: RunBody | None = None
) -> JSONResponse:
    """Run a saved query with parameter values; see `POST /runs` for the answer."""
    body = body or RunBody()
    outcome = app.jobs.run_saved(
        principal, query_id, parameters=body.parameters, max_age=body.max_age, wait=body.wait
    )
    return run_response(app, outcome)
