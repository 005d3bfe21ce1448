"""V1 metadata: `metadata/listobjectheaders`, `metadata/list` and `metadata/details`.

Listings keep what the caller sees, then filter (`pattern`, `fetchids`, `skipids`, `tagname`,
`category`, `author_guid`), sort and page them as ThoughtSpot does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.thoughtspot import wire_metadata as meta
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V1
from openlytics.dialects.thoughtspot.forms import flag, integer, json_strings
from openlytics.dialects.thoughtspot.routes.catalog import Catalog, Item, name_matcher, object_type
from openlytics.dialects.thoughtspot.routes.common import group_object, user_object

router = APIRouter()
SORTS = {
    "DEFAULT": None,
    "NAME": "name",
    "DISPLAY_NAME": "displayName",
    "AUTHOR": "authorName",
    "CREATED": "created",
    "MODIFIED": "modified",
}
CATEGORIES = ("ALL", "MY", "FAVORITE", "REQUESTED")


@router.get(f"{V1}/metadata/listobjectheaders")
def metadata_listobjectheaders(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The headers of the objects of a type, filtered, sorted and paged."""
    headers, _ = _listing(Catalog(app_of(request), caller), request.query_params)
    return headers


@router.get(f"{V1}/metadata/list")
def metadata_list(request: Request, caller: Caller) -> dict[str, Any]:
    """`{"headers": [...], "isLastBatch": bool, "debugInfo": {}}`."""
    headers, last = _listing(Catalog(app_of(request), caller), request.query_params)
    return {"headers": headers, "isLastBatch": last, "debugInfo": {}}


@router.get(f"{V1}/metadata/details")
def metadata_details(request: Request, caller: Caller) -> dict[str, Any]:
    """`{"storables": [...]}`: the full object of each GUID of `id`, in order."""
    params = request.query_params
    kind, _ = object_type(params.get("type"))
    guids = json_strings(params.get("id"), "id", required=True)
    catalog = Catalog(app_of(request), caller)
    return {"storables": [_details(catalog, item) for item in catalog.find(kind, guids)]}


# ----- listings ---------------------------------------------------------------------------------
def _listing(catalog: Catalog, params: Mapping[str, str]) -> tuple[list[dict[str, Any]], bool]:
    kind, subtypes = object_type(params.get("type"))
    subtypes = subtypes or json_strings(params.get("subtypes"), "subtypes")
    category = (params.get("category") or "ALL").strip().upper()
    if category not in CATEGORIES:
        raise InvalidInputError("category", f"one of {', '.join(CATEGORIES)}")
    hidden = flag(params.get("showhidden"), "showhidden", False)
    items = catalog.items(kind, subtypes=subtypes, hidden=hidden, favorites=category == "FAVORITE")
    if category == "MY":
        items = [i for i in items if i.author_id is not None and i.author_id == catalog.caller.user_id]
    if category == "REQUESTED":  # access requests do not exist here
        items = []
    items = _filtered(items, params)
    headers = _sorted([i.header for i in items], params)
    offset = max(integer(params.get("offset"), "offset", -1), 0)
    size = integer(params.get("batchsize"), "batchsize", -1)
    page = headers[offset:] if size < 0 else headers[offset : offset + size]
    return page, size < 0 or offset + size >= len(headers)


def _filtered(items: list[Item], params: Mapping[str, str]) -> list[Item]:
    pattern = params.get("pattern")
    if pattern and pattern.strip():
        matches = name_matcher(pattern.strip())
        items = [i for i in items if matches(str(i.header.get("name", "")))]
    fetch = {g.lower() for g in json_strings(params.get("fetchids"), "fetchids")}
    if fetch:
        items = [i for i in items if i.guid in fetch]
    skip = {g.lower() for g in json_strings(params.get("skipids"), "skipids")}
    items = [i for i in items if i.guid not in skip]
    tags = {t.lower() for t in json_strings(params.get("tagname"), "tagname")}
    if tags:
        items = [i for i in items if tags & {str(t).lower() for t in i.tags}]
    author = params.get("author_guid")
    if author and author.strip():
        items = [i for i in items if i.header.get("author") == author.strip().lower()]
    return items


def _sorted(headers: list[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    sort = (params.get("sort") or "DEFAULT").strip().upper()
    if sort not in SORTS:
        raise InvalidInputError("sort", f"one of {', '.join(SORTS)}")
    ascending = flag(params.get("sortascending"), "sortascending", True)
    key = SORTS[sort]
    if key is None:  # DEFAULT: the order the objects are listed in
        return headers if ascending else headers[::-1]

    def value(h: dict[str, Any]) -> Any:
        found = h.get(key)
        return found.lower() if isinstance(found, str) else found

    return sorted(headers, key=lambda h: (value(h), h["id"]), reverse=not ascending)


# ----- details ----------------------------------------------------------------------------------
def _details(catalog: Catalog, item: Item) -> dict[str, Any]:
    app, caller = catalog.app, catalog.caller
    if item.type == meta.USER:
        return user_object(app, caller, item.obj)
    if item.type == meta.GROUP:
        return group_object(app, caller, item.obj)
    if item.type == meta.LIVEBOARD:
        detail = app.dashboards.get(caller, item.id)
        query_ids = {p.query.id for p in detail.widgets if p.query is not None}
        return meta.liveboard_details(detail, item.obj.user, {q: _columns(catalog, q) for q in query_ids})
    if item.type == meta.ANSWER:
        visualizations = app.visualizations.for_queries(caller, [item.id])[item.id]
        return meta.answer_details(item.obj, item.obj.user, visualizations, _columns(catalog, item.id))
    if item.type == meta.TABLE:
        return meta.dataset_details(item.obj, catalog.user(item.author_id))
    if item.type == meta.DATA_SOURCE:
        return meta.data_source_details(item.obj, app.sources.masked_url(item.obj))
    if item.type == meta.TAG:
        return meta.tag_details(caller.org_id, item.obj)
    return {"header": item.header, "type": meta.COLUMN, "dataType": str(item.obj.get("type", "")).upper()}


def _columns(catalog: Catalog, query_id: int) -> list[str]:
    """The column names of a query's latest result (none before its first run)."""
    query = catalog.app.queries.get(catalog.caller, query_id)
    if query.latest_result_id is None:
        return []
    result = catalog.app.jobs.get_result(catalog.caller, query.latest_result_id)
    return [str(c.get("name", c)) if isinstance(c, dict) else str(c) for c in result.columns or []]
