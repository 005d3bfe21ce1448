"""Schedules: list, one, and a manual trigger (the wrapper uses GET, the README says POST)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Principal
from openlytics.dialects.clicdata import wire
from openlytics.dialects.clicdata.auth import Caller, app_of
from openlytics.store.models import Schedule

router = APIRouter()


@router.get("/schedule")
def get_schedule_list(request: Request, caller: Caller) -> dict[str, Any]:
    """`Schedule.get_schedule()`: `{"schedules": [...]}`."""
    app = app_of(request)
    found = all_pages(lambda page, size: app.schedules.list(caller, page=page, per_page=size))
    return {"schedules": [_schedule(app, caller, s) for s in found]}


@router.get("/schedule/{rec_id}")
def get_schedule(rec_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """`Schedule.get_schedule(rec_id)`: still a one-element list (pandas needs one)."""
    app = app_of(request)
    return {"schedules": [_schedule(app, caller, app.schedules.get(caller, rec_id))]}


@router.api_route("/schedule/{rec_id}/trigger", methods=["GET", "POST"])
def trigger_schedule(rec_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """`Schedule.trigger_schedule(rec_id)`: fire now as a manual run."""
    run = app_of(request).scheduler.trigger(caller, rec_id)
    return {"success": True, "run": wire.run(run)}


def _schedule(app: Openlytics, caller: Principal, schedule: Schedule) -> dict[str, Any]:
    latest = app.schedules.runs(caller, schedule.id, page=1, per_page=1).items
    return wire.schedule(schedule, latest[0] if latest else None)
