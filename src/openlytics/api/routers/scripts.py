"""Scripts: user Python run on the server in a sandbox, their runs, state and stored data.

`{ref}` is a script's integer id or its UUID.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.api.serializers import iso, page_of
from openlytics.core.errors import InvalidInputError
from openlytics.core.scripts import RUNNING
from openlytics.store.models import Script, ScriptRun

router = APIRouter(tags=["scripts"])

MAX_STORAGE_BYTES = 10 * 1024 * 1024


class NewScriptBody(Body):
    name: str
    code: str
    kind: str = "python"
    options: dict[str, Any] | None = None
    cpu_seconds: float | None = None
    wall_seconds: float | None = None
    memory_mb: int | None = None


class ScriptChangesBody(Body):
    name: str | None = None
    code: str | None = None
    options: dict[str, Any] | None = None
    cpu_seconds: float | None = None
    wall_seconds: float | None = None
    memory_mb: int | None = None


class RunBody(Body):
    parameters: dict[str, Any] | None = None
    wait: bool = False


def script_to_dict(s: Script) -> dict[str, Any]:
    """Script."""
    return {
        "id": s.id,
        "uuid": str(s.uuid),
        "name": s.name,
        "code": s.code,
        "kind": s.kind,
        "options": s.options or {},
        "cpu_seconds": s.cpu_seconds,
        "wall_seconds": s.wall_seconds,
        "memory_mb": s.memory_mb,
        "user_id": s.user_id,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
    }


def script_run_to_dict(r: ScriptRun) -> dict[str, Any]:
    """Script run."""
    return {
        "id": r.id,
        "uuid": str(r.uuid),
        "script_id": r.script_id,
        "status": r.status,
        "parameters": r.parameters or {},
        "stdout": r.stdout,
        "stderr": r.stderr,
        "return_code": r.return_code,
        "error": r.error,
        "user_id": r.user_id,
        "schedule_id": r.schedule_id,
        "started_at": iso(r.started_at),
        "finished_at": iso(r.finished_at),
    }


@router.get("/scripts")
def list_scripts(
    app: App, principal: CurrentPrincipal, paging: PageParams, q: str | None = None
) -> dict[str, Any]:
    """Scripts of the organization, by name (`q` searches names)."""
    page = app.scripts.list(principal, search=q, page=paging.page, per_page=paging.per_page)
    return page_of(page, [script_to_dict(s) for s in page.items])


@router.post("/scripts", status_code=201)
def create_script(body: NewScriptBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create a script (names are unique in an organization)."""
    return script_to_dict(app.scripts.create(principal, **body.model_dump()))


@router.get("/scripts/{ref}")
def get_script(ref: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One script."""
    return script_to_dict(app.scripts.get(principal, ref))


@router.patch("/scripts/{ref}")
def update_script(ref: str, body: ScriptChangesBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Change a script's name, code, options or limits (null limits fall back to the server's)."""
    return script_to_dict(app.scripts.update(principal, ref, **body.model_dump(exclude_unset=True)))


@router.delete("/scripts/{ref}", status_code=204)
def delete_script(ref: str, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a script and its runs."""
    app.scripts.delete(principal, ref)
    return Response(status_code=204)


@router.post("/scripts/{ref}/runs")
def run_script(
    ref: str, body: RunBody, app: App, principal: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    """Run a script: 202 with the run `running`, or with `wait` 200 with the finished run."""
    run = app.scripts.run(principal, ref, parameters=body.parameters, wait=body.wait)
    response.status_code = 202 if run.status == RUNNING else 200
    return script_run_to_dict(run)


@router.get("/scripts/{ref}/runs")
def script_runs(
    ref: str,
    app: App,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The latest runs, newest first."""
    return {"items": [script_run_to_dict(r) for r in app.scripts.runs(principal, ref, limit=limit)]}


@router.get("/scripts/{ref}/state")
def script_state(ref: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """`{"running": bool}`."""
    return {"running": app.scripts.state(principal, ref)}


@router.get("/scripts/{ref}/storage")
def get_storage(ref: str, app: App, principal: CurrentPrincipal) -> Response:
    """The stored JSON exactly as it was put; 204 when nothing is stored."""
    stored = app.scripts.get_storage(principal, ref)
    if stored is None:
        return Response(status_code=204)
    return Response(stored.encode(), media_type="application/json")


@router.put("/scripts/{ref}/storage", status_code=204)
async def put_storage(ref: str, request: Request, app: App, principal: CurrentPrincipal) -> Response:
    """Store the request body (a JSON document) as the script's data, byte for byte."""
    raw = await request.body()
    if len(raw) > MAX_STORAGE_BYTES:
        raise InvalidInputError("body", f"at most {MAX_STORAGE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("body", "must be UTF-8 text") from None
    await run_in_threadpool(app.scripts.set_storage, principal, ref, text)
    return Response(status_code=204)
