"""Event types and their mappings, the mapping mode, the Code Engine (modules, tests) and its secrets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from openlytics.api import serializers as ser
from openlytics.api import serializers_pipeline as pser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.app import Openlytics
from openlytics.core.errors import NotFoundError
from openlytics.core.pagination import Page
from openlytics.core.pipeline.code_engine import DEFAULT_TRANSFORM_CODE, LANGUAGE, MAIN
from openlytics.core.principal import Action
from openlytics.store.models import CodeModule, EventType

router = APIRouter(tags=["pipeline"])


def _event_type(app: Openlytics, found: EventType) -> dict[str, Any]:
    document = app.event_types.to_document(found)
    return pser.event_type(document, id=found.id, uuid=str(found.uuid), input_id=found.input_id)


# ----- event types --------------------------------------------------------------------------------
@router.get("/event-types")
def list_event_types(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """Event types by name, with their field trees and mappings."""
    found = app.event_types.list(principal)
    start = (paging.page - 1) * paging.per_page
    page = Page(found[start : start + paging.per_page], paging.page, paging.per_page, len(found))
    return ser.page_of(page, [_event_type(app, t) for t in page.items])


@router.put("/event-types/{name:path}/mapping")
def set_mapping(name: str, document: dict[str, Any], app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Replace the mapping with a mapping document (`{"mapping": {"tableName", "schema"?,
    "isDiscarded"?}, "fields": [{"fieldName", "mapping": {"columnName", "columnType"}, "fields"}],
    "mappingMode"?, "usingDefaultMappingMode"?}`); creates the event type when new."""
    return _event_type(app, app.event_types.set_mapping(principal, name, document))


@router.post("/event-types/{name:path}/discard")
def discard_event_type(name: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Discard the type: its events are dropped (DISCARDED), neither loaded nor restreamed."""
    return _event_type(app, app.event_types.discard(principal, name))


@router.get("/event-types/{name:path}")
def get_event_type(name: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One event type by name (names may contain `/`)."""
    return _event_type(app, app.event_types.get(principal, name))


@router.delete("/event-types/{name:path}", status_code=204)
def delete_event_type(name: str, app: App, principal: CurrentPrincipal) -> Response:
    """Forget the type with its samples and counts (its next event brings it back)."""
    app.event_types.delete(principal, name)
    return Response(status_code=204)


class ModeBody(Body):
    mode: str


@router.get("/mapping-mode")
def get_mapping_mode(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The organization's default mapping mode: AUTO_MAP, STRICT or FLEXIBLE."""
    principal.require(Action.READ, "mapping mode")
    return {"mode": app.event_types.default_mode(principal.org_id)}


@router.put("/mapping-mode")
def set_mapping_mode(body: ModeBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Set the default mapping mode (admins)."""
    return {"mode": app.event_types.set_default_mode(principal, body.mode)}


# ----- code ---------------------------------------------------------------------------------------
@router.get("/code/modules")
def list_modules(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The Code Engine's modules by name (`main` holds `transform(event)`)."""
    return {"items": [pser.code_module(m) for m in app.code_engine.modules(principal)]}


@router.put("/code/modules")
def set_modules(modules: dict[str, str], app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create or replace modules: `{"main": "<code>", "helpers": "<code>"}` (others stay). Code
    that does not compile is refused, naming the module and the line."""
    return {"items": [pser.code_module(m) for m in app.code_engine.set_modules(principal, modules)]}


@router.get("/code/modules/{name}")
def get_module(name: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One module; `main` before any is saved is the default transform (`is_default`)."""
    try:
        return pser.code_module(app.code_engine.module(principal, name))
    except NotFoundError:
        if name != MAIN:
            raise
    default = CodeModule(name=MAIN, code=DEFAULT_TRANSFORM_CODE, language=LANGUAGE)
    return pser.code_module(default, is_default=True)


@router.delete("/code/modules/{name}", status_code=204)
def delete_module(name: str, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a module."""
    app.code_engine.delete_module(principal, name)
    return Response(status_code=204)


@router.post("/code/reset")
def reset_code(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Set `main` back to the transform that returns events unchanged."""
    return pser.code_module(app.code_engine.reset_to_default(principal))


class TestBody(Body):
    __test__ = False  # not a pytest test class

    sample: dict[str, Any]
    code: str | None = None
    modules: dict[str, str] | None = None


@router.post("/code/test")
def test_code(body: TestBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Run the transform on one sample (`code` as main, or `modules` over the saved ones, or the
    saved ones): `{result, output, runtime_ms, error}`; a syntax error is reported in `error`."""
    run = app.code_engine.test_run(principal, body.sample, code=body.code, modules=body.modules)
    return pser.test_run(run)


@router.get("/code/requirements")
def requirements(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The packages a transform may import besides the standard library."""
    principal.require(Action.READ, "code requirements")
    return {"items": app.code_engine.requirements()}


# ----- secrets ------------------------------------------------------------------------------------
@router.get("/secrets")
def list_secrets(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The names of the secrets transforms read (`from transform_secrets import secrets`)."""
    return {"names": app.code_engine.secret_names(principal)}


@router.put("/secrets")
def set_secrets(values: dict[str, str], app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create or replace secrets: `{"name": "value"}` (values are never shown again)."""
    app.code_engine.set_secrets(principal, values)
    return {"names": app.code_engine.secret_names(principal)}


@router.delete("/secrets/{name}", status_code=204)
def delete_secret(name: str, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a secret."""
    app.code_engine.delete_secret(principal, name)
    return Response(status_code=204)
