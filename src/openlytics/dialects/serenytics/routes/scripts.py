"""Scripts: create (the client's tests), get, run with parameters, state, logs, stored data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import all_pages
from openlytics.dialects.serenytics import wire
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.routes.common import Body, restless_filter, restless_list

router = APIRouter()
MAX_STORAGE_BYTES = 10 * 1024 * 1024


@router.get("/script")
def get_scripts(request: Request, caller: Caller, q: str | None = None) -> dict[str, Any]:
    """GET script (`get_script_by_name` filters by name)."""
    app, keep = app_of(request), restless_filter(q)
    scripts = all_pages(lambda page, size: app.scripts.list(caller, page=page, per_page=size))
    configs = [wire.script(s) for s in scripts]
    return restless_list([c for c in configs if keep(c)])


@router.post("/script", status_code=201)
def create_script(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST script {name, code, kind, schedule_infos} -> 201; names are unique."""
    if body.get("kind", wire.SCRIPT_KIND) != wire.SCRIPT_KIND:
        raise InvalidInputError("kind", f"only {wire.SCRIPT_KIND} scripts run here")
    options = {"schedule_infos": body.get("schedule_infos") or ""}
    created = app_of(request).scripts.create(
        caller, name=body.get("name"), code=body.get("code"), options=options
    )
    return wire.script(created)


@router.get("/script/{uuid}")
def get_script_by_uuid(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET script/<uuid> (404 -> UnknownScript)."""
    return wire.script(app_of(request).scripts.get(caller, uuid))


@router.post("/script/{uuid}/run")
def run_script(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST script/<uuid>/run: the body (minus `async`) is the run's parameters; running on return."""
    app = app_of(request)
    script = app.scripts.get(caller, uuid)
    parameters = {k: v for k, v in body.items() if k != "async"}
    run = app.scripts.run(caller, script.id, parameters=parameters, wait=False)
    return {"status": "ok", "run_id": str(run.uuid)}


@router.get("/script/{uuid}/state")
def script_state(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET script/<uuid>/state -> {"running": bool}."""
    app = app_of(request)
    return {"running": app.scripts.state(caller, app.scripts.get(caller, uuid).id)}


@router.get("/script/{uuid}/logs")
def script_logs(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET script/<uuid>/logs: runs, newest first."""
    app = app_of(request)
    runs = app.scripts.runs(caller, app.scripts.get(caller, uuid).id, limit=20)
    return restless_list([wire.script_run(r) for r in runs])


@router.get("/script/{uuid}/storage")
def retrieve_script_data(uuid: str, request: Request, caller: Caller) -> Response:
    """GET script/<uuid>/storage: exactly the stored document (`null` when nothing is stored)."""
    app = app_of(request)
    stored = app.scripts.get_storage(caller, app.scripts.get(caller, uuid).id)
    return Response(stored if stored is not None else "null", media_type="application/json")


@router.put("/script/{uuid}/storage")
async def store_script_data(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """PUT script/<uuid>/storage: the raw body is kept as given."""
    app = app_of(request)
    raw = await request.body()
    if len(raw) > MAX_STORAGE_BYTES:
        raise InvalidInputError("body", f"at most {MAX_STORAGE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("body", "UTF-8 text") from None
    script = await run_in_threadpool(app.scripts.get, caller, uuid)
    await run_in_threadpool(app.scripts.set_storage, caller, script.id, text)
    return {"status": "ok"}
