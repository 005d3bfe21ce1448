"""Web apps: our dashboards under Serenytics' names (custom CSS and header, cache warm-up)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openlytics.core.errors import InvalidInputError
from openlytics.core.lineage import datasets_of_dashboard
from openlytics.core.pagination import all_pages
from openlytics.dialects.serenytics import wire
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.routes.common import Body, restless_filter, restless_list

router = APIRouter()


@router.get("/web_app")
def get_webapps(request: Request, caller: Caller, q: str | None = None) -> dict[str, Any]:
    """GET web_app (`get_webapps`)."""
    app = app_of(request)
    keep = restless_filter(q)
    apps = [wire.web_app(d) for d in _all_dashboards(app, caller)]
    return restless_list([a for a in apps if keep(a)])


@router.post("/web_app", status_code=201)
def create_webapp(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST web_app (the client's tests): {name, jsonContent} -> 201."""
    app = app_of(request)
    content = _json_content(body)
    dashboard = app.dashboards.create(caller, name=body.get("name"))
    options = wire.web_app_options(dashboard.options or {}, content, body.get("folder_name"))
    return wire.web_app(app.dashboards.update(caller, dashboard.id, options=options))


@router.get("/web_app/{uuid}")
def get_webapp_by_uuid(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET web_app/<uuid> (404 -> UnknownWebApp)."""
    return wire.web_app(app_of(request).dashboards.get(caller, uuid).dashboard)


@router.put("/web_app/{uuid}")
def save_webapp(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """PUT web_app/<uuid> (`webapp.save()`): the whole document replaces the stored one."""
    app = app_of(request)
    dashboard = app.dashboards.get(caller, uuid).dashboard
    changes: dict[str, Any] = {
        "options": wire.web_app_options(dashboard.options or {}, _json_content(body), body.get("folder_name"))
    }
    if isinstance(body.get("name"), str) and body["name"] != dashboard.name:
        changes["name"] = body["name"]
    return wire.web_app(app.dashboards.update(caller, dashboard.id, **changes))


@router.delete("/web_app/{uuid}", status_code=204)
def delete_webapp(uuid: str, request: Request, caller: Caller) -> JSONResponse:
    """DELETE web_app/<uuid>: archived (kept for its history), gone from lists."""
    app = app_of(request)
    app.dashboards.archive(caller, app.dashboards.get(caller, uuid).dashboard.id)
    return JSONResponse(None, status_code=204)


@router.post("/web_app/{uuid}/generate_pdf")
def warm_up_cache(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST web_app/<uuid>/generate_pdf (`warm_up_cache`): run every widget's query into the cache."""
    app = app_of(request)
    detail = app.dashboards.get(caller, uuid)
    refreshed = 0
    for query_id in sorted({p.query.id for p in detail.widgets if p.query is not None}):
        app.jobs.run_saved(caller, query_id, max_age=-1, wait=app.settings.max_wait_seconds)
        refreshed += 1
    return {"status": "ok", "refreshed_queries": refreshed}


def _all_dashboards(app: Any, caller: Any) -> list[Any]:
    return all_pages(lambda page, size: app.dashboards.list(caller, page=page, per_page=size))


def _json_content(body: dict[str, Any]) -> dict[str, Any]:
    content = body.get("jsonContent", {})
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise InvalidInputError("jsonContent", "an object")
    return content


@router.get("/web_app/{uuid}/data_sources")
def get_list_of_data_sources(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET web_app/<uuid>/data_sources: the storages its widgets' queries read."""
    app = app_of(request)
    used = datasets_of_dashboard(caller, app.dashboards, app.datasets, uuid)
    return {"status": "ok", "objects": [{"name": d.name, "uuid": str(d.uuid)} for d in used]}


@router.post("/web_app/{uuid}/sharings", status_code=201)
def share_webapp_with_user(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST web_app/<uuid>/sharings {username_to_share_with} (`share_webapp_with_user`) -> 201."""
    app = app_of(request)
    login = body.get("username_to_share_with")
    if not isinstance(login, str) or not login:
        raise InvalidInputError("username_to_share_with", "the login (e-mail) of a user")
    dashboard = app.dashboards.get(caller, uuid).dashboard
    user = app.identity.find_user_by_email(caller, login)
    shared = sorted({*(dashboard.options or {}).get("shared_with", []), user.email})
    app.dashboards.update(caller, dashboard.id, options={**(dashboard.options or {}), "shared_with": shared})
    return {"status": "ok", "username": user.email}
