"""Pipeline inputs: webhooks, file drops and database tables feeding the event pipeline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from openlytics.api import serializers as ser
from openlytics.api import serializers_pipeline as pser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import Page
from openlytics.core.principal import Action, Principal
from openlytics.store.models import PipelineInput

router = APIRouter(tags=["pipeline"])


class NewInputBody(Body):
    name: str
    type: str
    configuration: dict[str, Any] = {}
    validate_: bool = Field(True, alias="validate")


class InputChangesBody(Body):
    name: str | None = None
    configuration: dict[str, Any] | None = None
    validate_: bool = Field(True, alias="validate")


class SleepBody(Body):
    seconds: float


def shown(app: Openlytics, principal: Principal, record: PipelineInput) -> dict[str, Any]:
    """One input as the API shows it."""
    return pser.pipeline_input(record, app.pipeline_inputs.shown_configuration(principal, record))


@router.get("/inputs")
def list_inputs(
    app: App, principal: CurrentPrincipal, paging: PageParams, include_deleted: bool = False
) -> dict[str, Any]:
    """The organization's inputs, oldest first (`include_deleted`: removed ones too)."""
    found = app.pipeline_inputs.list(principal, include_deleted=include_deleted)
    start = (paging.page - 1) * paging.per_page
    page = Page(found[start : start + paging.per_page], paging.page, paging.per_page, len(found))
    return ser.page_of(page, [shown(app, principal, r) for r in page.items])


@router.post("/inputs", status_code=201)
def create_input(body: NewInputBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Add an input (admins); `validate` (default true) connects to a database input's table first."""
    record = app.pipeline_inputs.create(
        principal, name=body.name, type=body.type, configuration=body.configuration, validate=body.validate_
    )
    return shown(app, principal, record)


@router.get("/inputs/{input_id}")
def get_input(input_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One input; secrets masked, a REST input's webhook token and URL shown."""
    return shown(app, principal, app.pipeline_inputs.get(principal, input_id))


@router.patch("/inputs/{input_id}")
def update_input(
    input_id: int, body: InputChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Rename an input or replace its configuration (a masked secret sent back keeps its value)."""
    record = app.pipeline_inputs.update(
        principal, input_id, name=body.name, configuration=body.configuration, validate=body.validate_
    )
    return shown(app, principal, record)


@router.delete("/inputs/{input_id}", status_code=204)
def delete_input(input_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Remove an input (kept as deleted; a webhook's token stops working)."""
    app.pipeline_inputs.remove(principal, input_id)
    return Response(status_code=204)


@router.post("/inputs/{input_id}/pause")
def pause_input(input_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Pause: a webhook refuses events (409), polling stops."""
    return shown(app, principal, app.pipeline_inputs.set_paused(principal, input_id, True))


@router.post("/inputs/{input_id}/resume")
def resume_input(input_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Resume a paused input (a polled one is due at once)."""
    return shown(app, principal, app.pipeline_inputs.set_paused(principal, input_id, False))


@router.put("/inputs/{input_id}/sleep")
def set_sleep(input_id: int, body: SleepBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Seconds a polled input waits between reads (0 to 7 days)."""
    return shown(app, principal, app.pipeline_inputs.set_sleep_time(principal, input_id, body.seconds))


@router.post("/inputs/{input_id}/poll")
def poll_input(input_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Read a FILE or database input now; a failure answers its error."""
    return {"events": app.pipeline_inputs.poll_now(principal, input_id)}


@router.post("/inputs/{input_id}/files")
async def upload_file(
    input_id: int, request: Request, app: App, principal: CurrentPrincipal, filename: str
) -> dict[str, Any]:
    """Queue the events of a CSV (header row) or JSON(-lines) file for a FILE input: the raw body,
    `?filename=` (its suffix tells the format unless the input sets `fileFormat`; `.gz` is unzipped).
    A bad line refuses the whole file."""
    principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
    await run_in_threadpool(app.pipeline_inputs.get, principal, input_id)  # 404 before the body
    name = Path(filename).name
    if not name or name in (".", ".."):
        raise InvalidInputError("filename", "a file name such as events.csv or events.jsonl")
    path = await _receive(app, request, name)
    try:
        count = await run_in_threadpool(app.pipeline_inputs.add_file, principal, input_id, name, path)
    finally:
        path.unlink(missing_ok=True)
    return {"events": count}


async def _receive(app: Openlytics, request: Request, filename: str) -> Path:
    """Stream the body into a temporary file under the uploads directory (never whole in memory)."""
    directory = app.pipeline_inputs.uploads_dir
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="input-", suffix="-" + filename)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
