"""Data: V1 `searchdata` and `pinboarddata`; V2 `searchdata`, `metadata/liveboard/data` and
`metadata/answer/data`.

A search is compiled by `search_tokens` into the core's structured query and run on the dataset
as the caller (row filters apply); a liveboard or answer runs its saved queries as the caller.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.datasets.structured_query import shape_result
from openlytics.core.errors import InvalidInputError, QueryCancelledError, QueryFailedError, QueryTimeoutError
from openlytics.core.jobs.status import JobStatus
from openlytics.dialects.thoughtspot import wire_data
from openlytics.dialects.thoughtspot import wire_metadata as meta
from openlytics.dialects.thoughtspot.auth import ObjectReader, app_of
from openlytics.dialects.thoughtspot.capabilities import V1, V2
from openlytics.dialects.thoughtspot.forms import integer, json_strings
from openlytics.dialects.thoughtspot.routes.catalog import Catalog
from openlytics.dialects.thoughtspot.routes.common import Body
from openlytics.dialects.thoughtspot.search_tokens import parse_search
from openlytics.store.models import Query

router = APIRouter()
Rows = tuple[list[str], list[list[Any]]]


@router.post(f"{V1}/searchdata")
def searchdata(request: Request, caller: ObjectReader) -> dict[str, Any]:
    """The rows of a search (`query_string`) over a table (`data_source_guid`)."""
    params = request.query_params
    fmt = wire_data.format_type(params.get("formattype"))
    columns, rows = _search(
        Catalog(app_of(request), caller), params.get("query_string"), params.get("data_source_guid")
    )
    return wire_data.data_v1(columns, rows, _v1_paging(params), fmt)


@router.post(f"{V1}/pinboarddata")
def pinboarddata(request: Request, caller: ObjectReader) -> dict[str, Any]:
    """`{"<viz guid>": {"name", "columnNames", "data", ...}}` for the liveboard's visualizations."""
    params = request.query_params
    fmt = wire_data.format_type(params.get("formattype"))
    paging = _v1_paging(params)
    raw = params.get("vizid")
    wanted = None if raw is None or raw.strip() in ("", "null") else json_strings(raw, "vizid")
    catalog = Catalog(app_of(request), caller)
    answer = {}
    for guid, name, query in _liveboard(catalog, params.get("id"), wanted):
        columns, rows = _saved_rows(catalog, query)
        answer[guid] = {"name": name, **wire_data.data_v1(columns, rows, paging, fmt)}
    return answer


@router.post(f"{V2}/searchdata")
def searchdata_v2(request: Request, caller: ObjectReader, body: Body) -> dict[str, Any]:
    """V2 search: `{"contents": [{"column_names", "data_rows", ...}]}` (see docs)."""
    catalog = Catalog(app_of(request), caller)
    columns, rows = _search(catalog, body.get("query_string"), body.get("logical_table_identifier"))
    return wire_data.data_v2(columns, rows, _v2_paging(body), _v2_format(body))


@router.post(f"{V2}/metadata/liveboard/data")
def liveboard_data_v2(request: Request, caller: ObjectReader, body: Body) -> dict[str, Any]:
    """V2 liveboard data: one `contents` entry per visualization, with its id and name."""
    catalog = Catalog(app_of(request), caller)
    ids = body.get("visualization_identifiers")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise InvalidInputError("visualization_identifiers", "a list of visualization GUIDs")
    paging, fmt = _v2_paging(body), _v2_format(body)
    contents = []
    for guid, name, query in _liveboard(catalog, body.get("metadata_identifier"), ids):
        columns, rows = _saved_rows(catalog, query)
        entry = wire_data.data_v2(columns, rows, paging, fmt)["contents"][0]
        contents.append({"visualization_id": guid, "visualization_name": name, **entry})
    return {"metadata_id": str(body.get("metadata_identifier")), "contents": contents}


@router.post(f"{V2}/metadata/answer/data")
def answer_data_v2(request: Request, caller: ObjectReader, body: Body) -> dict[str, Any]:
    """V2 answer data: the rows of a saved query."""
    catalog = Catalog(app_of(request), caller)
    identifier = body.get("metadata_identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        raise InvalidInputError("metadata_identifier", "required: an answer's GUID")
    item = catalog.find(meta.ANSWER, [identifier])[0]
    columns, rows = _saved_rows(catalog, item.obj)
    answer = wire_data.data_v2(columns, rows, _v2_paging(body), _v2_format(body))
    return {"metadata_id": item.guid, "metadata_name": item.obj.name, **answer}


# ----- running ----------------------------------------------------------------------------------
def _search(catalog: Catalog, query_string: Any, table_guid: Any) -> Rows:
    if not isinstance(table_guid, str) or not table_guid.strip():
        raise InvalidInputError("data_source_guid", "required: a table's GUID")
    if not isinstance(query_string, str):
        raise InvalidInputError("query_string", "required: search tokens such as [Region] [Sales]")
    dataset = catalog.find(meta.TABLE, [table_guid])[0].obj
    columns = {str(c["name"]): str(c["type"]) for c in dataset.columns or [] if isinstance(c, dict)}
    query = parse_search(query_string, columns)
    app = catalog.app
    answer = app.structured_queries.run(catalog.caller, dataset, query, wait=app.settings.max_wait_seconds)
    if answer.data is None:
        raise QueryTimeoutError(app.settings.max_wait_seconds)
    return [name for name, _ in answer.columns], answer.data


def _liveboard(catalog: Catalog, guid: Any, wanted: list[str] | None) -> list[tuple[str, str, Query]]:
    """(viz GUID, name, query) of each visualization the caller sees, in the liveboard's order."""
    if not isinstance(guid, str) or not guid.strip():
        raise InvalidInputError("id", "required: a liveboard's GUID")
    item = catalog.find(meta.LIVEBOARD, [guid])[0]
    detail = catalog.app.dashboards.get(catalog.caller, item.id)
    placed = [(p.visualization, p.query) for p in detail.widgets if p.visualization and p.query]
    visible = catalog.app.sharing.visible_ids(catalog.caller, "query", [q.id for _, q in placed])
    found = [(str(v.uuid), v.name, q) for v, q in placed if q.id in visible]
    if wanted is None:
        return found
    by_guid = {g: (g, n, q) for g, n, q in found}
    missing = [w for w in wanted if w.strip().lower() not in by_guid]
    if missing:
        raise InvalidInputError("vizid", f"not a visualization of this liveboard: {missing[0]}")
    return [by_guid[w.strip().lower()] for w in wanted]


def _saved_rows(catalog: Catalog, query: Query) -> Rows:
    """Run a saved query as the caller (a recent result is reused), waiting a bounded time."""
    app = catalog.app
    wait = app.settings.max_wait_seconds
    outcome = app.jobs.run_saved(catalog.caller, query.id, max_age=60, wait=wait)
    if outcome.result is None:
        job = outcome.job
        if job is not None and job.status == JobStatus.FAILURE:
            raise QueryFailedError(job.error or "the query failed")
        if job is not None and job.status == JobStatus.CANCELLED:
            raise QueryCancelledError()
        raise QueryTimeoutError(wait)
    table = app.jobs.results.open(outcome.result.path).read_all()
    return [str(name) for name in table.column_names], shape_result(table)


# ----- parameters -------------------------------------------------------------------------------
def _v1_paging(params: Any) -> wire_data.Paging:
    return wire_data.Paging.v1(
        integer(params.get("batchsize"), "batchsize", -1),
        integer(params.get("pagenumber"), "pagenumber", -1),
        integer(params.get("offset"), "offset", -1),
    )


def _v2_paging(body: dict[str, Any]) -> wire_data.Paging:
    offset, size = body.get("record_offset", 0), body.get("record_size", 10)
    for field, value in (("record_offset", offset), ("record_size", size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(field, "a whole number")
    return wire_data.Paging(max(offset, 0), size if size > 0 else -1)


def _v2_format(body: dict[str, Any]) -> str:
    return wire_data.format_type(str(body.get("data_format") or "COMPACT"), "data_format")
