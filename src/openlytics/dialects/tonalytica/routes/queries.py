"""Saved queries: list, favorites, get, create, edit, archive, fork, refresh, schedules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from openlytics.dialects.tonalytica import wire
from openlytics.dialects.tonalytica.auth import Caller, app_of
from openlytics.dialects.tonalytica.routes import present
from openlytics.dialects.tonalytica.routes.common import Body, PageParams, int_field
from openlytics.dialects.tonalytica.routes.results import run_response
from openlytics.store.types import utcnow

router = APIRouter()

# Fields of a query body that change something; the rest (id, user, visualizations, ...) is
# what clients echo back from a GET and is ignored, as Redash does.
QUERY_FIELDS = {
    "name": "name",
    "query": "sql",
    "description": "description",
    "data_source_id": "data_source_id",
    "tags": "tags",
    "is_draft": "is_draft",
}


@router.get("/queries")
def queries(
    request: Request, caller: Caller, paging: PageParams, q: str | None = None, tags: str | None = None
) -> dict[str, Any]:
    """GET queries: the paginated list (tonalytica-client `queries`)."""
    return _list(app_of(request), caller, paging, q, tags, favorites_only=False)


@router.get("/queries/favorites")
def favorite_queries(
    request: Request, caller: Caller, paging: PageParams, q: str | None = None, tags: str | None = None
) -> dict[str, Any]:
    """GET queries/favorites (`queries(only_favorites=True)`)."""
    return _list(app_of(request), caller, paging, q, tags, favorites_only=True)


def _list(
    app: Openlytics,
    caller: Principal,
    paging: PageParams,
    q: str | None,
    tag: str | None,
    *,
    favorites_only: bool,
) -> dict[str, Any]:
    page = app.queries.list(
        caller, search=q, tag=tag, favorites_only=favorites_only, page=paging.page, per_page=paging.page_size
    )
    return wire.envelope(page, present.queries(app, caller, page.items))


@router.post("/queries")
def create_query(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST queries: a new query with a default table visualization (`create_query`)."""
    app = app_of(request)
    fields = _query_fields(body)
    timing = _timing(body)  # checked before anything is saved
    query = app.queries.create(caller, **fields)
    app.identity.create_query_key(caller, query.id)
    _after_save(app, caller, query.id, body, timing)
    return present.full_query(app, caller, app.queries.get(caller, query.id))


@router.get("/queries/{query_id}")
def get_query(query_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET queries/<id> (`get_query`)."""
    app = app_of(request)
    return present.full_query(app, caller, app.queries.get(caller, query_id))


@router.post("/queries/{query_id}")
def update_query(query_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST queries/<id> (`update_query`): whole objects from a GET are accepted."""
    app = app_of(request)
    fields = _query_fields(body)
    timing = _timing(body)
    if fields:
        app.queries.update(caller, query_id, **fields)
    _after_save(app, caller, query_id, body, timing)
    return present.full_query(app, caller, app.queries.get(caller, query_id))


@router.delete("/queries/{query_id}")
def archive_query(query_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE queries/<id>: archive."""
    app = app_of(request)
    app.queries.archive(caller, query_id)
    app.schedules.set_for_target(caller, present.REFRESH_KIND, query_id, None)
    return present.full_query(app, caller, app.queries.get(caller, query_id))


@router.post("/queries/{query_id}/fork")
def fork_query(query_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """POST queries/<id>/fork (`duplicate_query`): visualizations copied verbatim."""
    app = app_of(request)
    fork = app.queries.fork(caller, query_id)
    app.identity.create_query_key(caller, fork.id)
    return present.full_query(app, caller, app.queries.get(caller, fork.id))


@router.post("/queries/{query_id}/refresh")
def refresh_query(query_id: int, request: Request, caller: Caller) -> Any:
    """POST queries/<id>/refresh: run now with `p_<name>` values from the query string."""
    app = app_of(request)
    values = {k[2:]: v for k, v in request.query_params.items() if k.startswith("p_")}
    outcome = app.jobs.run_saved(caller, query_id, parameters=values, max_age=0, wait=_wait(app))
    return run_response(app, outcome, always_job=True)


@router.post("/queries/{query_id}/favorite")
def create_favorite(query_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """POST queries/<id>/favorite (`create_favorite("query", id)`)."""
    app_of(request).favorites.add(caller, "query", query_id)
    return {}


@router.delete("/queries/{query_id}/favorite")
def delete_favorite(query_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE queries/<id>/favorite."""
    app_of(request).favorites.remove(caller, "query", query_id)
    return {}


def _query_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = {ours: body[theirs] for theirs, ours in QUERY_FIELDS.items() if theirs in body}
    if "data_source_id" in fields:
        fields["data_source_id"] = int_field(body, "data_source_id")
    if "options" in body:
        fields["options"] = wire.options_out(body["options"])
        parameters = wire.parameters_in(body["options"])
        if parameters is not None:
            fields["parameters"] = parameters
    if fields.get("tags") is None:
        fields.pop("tags", None)
    return fields


def _timing(body: dict[str, Any]) -> dict[str, Any] | None:
    return wire.schedule_timing(body.get("schedule"), now=utcnow())


def _after_save(
    app: Openlytics, caller: Principal, query_id: int, body: dict[str, Any], timing: dict[str, Any] | None
) -> None:
    if "schedule" in body:
        app.schedules.set_for_target(caller, present.REFRESH_KIND, query_id, timing)
    if body.get("is_archived") is True:
        app.queries.archive(caller, query_id)
        app.schedules.set_for_target(caller, present.REFRESH_KIND, query_id, None)


def _wait(app: Openlytics) -> float:
    # tonalytica-client reads the job right after posting, without polling: answer finished jobs.
    return app.settings.max_wait_seconds
