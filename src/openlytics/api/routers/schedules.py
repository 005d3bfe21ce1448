"""Schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response

from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.api.serializers import page_of, run_to_dict, schedule_to_dict

router = APIRouter(tags=["schedules"])


class NewScheduleBody(Body):
    kind: str = "query_refresh"
    target_id: int
    name: str = ""
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    starts_at: datetime | None = None
    until: datetime | None = None
    enabled: bool = True
    payload: dict[str, Any] | None = None


class ScheduleChangesBody(Body):
    name: str | None = None
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str | None = None
    starts_at: datetime | None = None
    until: datetime | None = None
    enabled: bool | None = None
    payload: dict[str, Any] | None = None


@router.get("/schedules")
def list_schedules(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """Schedules of the organization."""
    page = app.schedules.list(principal, page=paging.page, per_page=paging.per_page)
    return page_of(page, [schedule_to_dict(s) for s in page.items])


@router.post("/schedules", status_code=201)
def create_schedule(body: NewScheduleBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create a schedule (interval or cron, in a time zone)."""
    if body.kind == "query_refresh":
        app.queries.get(principal, body.target_id)  # the target must exist and be visible
    elif body.kind == "script_run":
        app.scripts.get(principal, body.target_id)
    return schedule_to_dict(app.schedules.create(principal, **body.model_dump()))


@router.get("/schedules/{schedule_id}")
def get_schedule(schedule_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One schedule."""
    return schedule_to_dict(app.schedules.get(principal, schedule_id))


@router.patch("/schedules/{schedule_id}")
def update_schedule(
    schedule_id: int, body: ScheduleChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Change a schedule."""
    changes = body.model_dump(exclude_unset=True)
    return schedule_to_dict(app.schedules.update(principal, schedule_id, **changes))


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a schedule."""
    app.schedules.delete(principal, schedule_id)
    return Response(status_code=204)


@router.post("/schedules/{schedule_id}/trigger")
def trigger_schedule(schedule_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Fire a schedule now."""
    return run_to_dict(app.scheduler.trigger(principal, schedule_id))


@router.get("/schedules/{schedule_id}/runs")
def schedule_runs(
    schedule_id: int, app: App, principal: CurrentPrincipal, paging: PageParams
) -> dict[str, Any]:
    """Firings of a schedule, newest first."""
    page = app.schedules.runs(principal, schedule_id, page=paging.page, per_page=paging.per_page)
    return page_of(page, [run_to_dict(r) for r in page.items])
