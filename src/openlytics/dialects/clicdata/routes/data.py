"""Data sets (our datasets): lists, paged rows, versions, custom tables, rows, rebuilds."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.structured_model import Condition
from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Principal
from openlytics.dialects.clicdata import wire
from openlytics.dialects.clicdata.auth import Caller, app_of
from openlytics.dialects.clicdata.capabilities import CAPABILITIES, MAX_PAGE_SIZE
from openlytics.dialects.clicdata.routes.common import Body, flag, positive, text
from openlytics.store.models import Dataset

router = APIRouter()

MULTIPLE_ROWS = ("all", "first")
#: The README's `rebuild` is the code's `reload`.
REBUILD_ALIASES = {"rebuild": "reload"}


@router.get("/data")
def get_data_list(
    request: Request,
    caller: Caller,
    name: str | None = None,
    uniquekeyavailable: str | None = None,
    refresh: str | None = None,
) -> dict[str, Any]:
    """`Data.get_data()`: data sets whose name contains `name`, optionally only keyed / refreshable."""
    app = app_of(request)
    keyed, refreshable = flag(uniquekeyavailable, "uniquekeyavailable"), flag(refresh, "refresh")
    needle = (name or "").strip().lower()
    items = [wire.dataset(d) for d in _all_datasets(app, caller, needle)]
    kept = [
        item
        for item in items
        if needle in item["name"].lower()
        and (keyed is None or item["unique_key_available"] is keyed)
        and (refreshable is None or item["refresh"] is refreshable)
    ]
    return {"data": kept}


@router.get("/data/{rec_id}")
def get_data(
    rec_id: int, request: Request, caller: Caller, page: str | None = None, pagesize: str | None = None
) -> dict[str, Any]:
    """`Data.get_data(rec_id)`: one page of the current rows (`page` from 1)."""
    return _page(app_of(request), caller, rec_id, None, page, pagesize)


@router.get("/data/{rec_id}/versions")
def get_data_history_list(rec_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """`Data.get_data_history(rec_id)`: the kept versions, newest first."""
    return {"versions": [wire.version(v) for v in app_of(request).datasets.versions(caller, rec_id)]}


@router.get("/data/{rec_id}/v/{ver_id}")
def get_data_history(
    rec_id: int,
    ver_id: int,
    request: Request,
    caller: Caller,
    page: str | None = None,
    pagesize: str | None = None,
) -> dict[str, Any]:
    """`Data.get_data_history(rec_id, ver_id)`: one page of a kept version's rows."""
    return _page(app_of(request), caller, rec_id, ver_id, page, pagesize)


@router.post("/data")
def create_data(request: Request, caller: Caller, body: Body) -> JSONResponse:
    """`Data.create_data(name, description, cols)` -> the bare new RecId (the client calls `int()`)."""
    name = text(body, "name")
    description = text(body, "description", required=False)
    columns, remembered = wire.dataset_columns(body.get("columns", []))
    dataset = app_of(request).datasets.create(
        caller,
        name=name or "",
        columns=columns,
        description=description,
        options={wire.TYPES_KEY: remembered},
    )
    return JSONResponse(dataset.id)


@router.post("/data/{rec_id}/row")
def append_data(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """`Data.append_data(rec_id, df)`: `{"data": [[{column, value}, ...], ...]}`, all or nothing."""
    app = app_of(request)
    dataset = app.datasets.get(caller, rec_id)
    data = body.get("data")
    if not isinstance(data, list):
        raise InvalidInputError("data", 'a list of rows, each a list of {"column", "value"}')
    rows = [wire.cells(row, f"data[{index}]") for index, row in enumerate(data)]
    known = {c["name"] for c in dataset.columns or []}
    for index, row in enumerate(rows):
        unknown = [column for column in row if known and column not in known]
        if unknown:
            raise InvalidInputError(f"data[{index}]", f"row {index}: unknown column {unknown[0]!r}")
    if not rows:
        return {"success": True, "rows_added": 0, "row_count": dataset.row_count}
    result = app.datasets.append(caller, rec_id, LoadSource.from_rows(rows))
    return {"success": True, "rows_added": result.inserted, "row_count": result.row_count}


@router.put("/data/{rec_id}/row")
def update_data(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """PUT row (README "To Do"): `{"multiplerows", "find": [...], "data": [{column, value}]}`."""
    first_only = _first_only(body.get("multiplerows"))
    filters = _find(body.get("find"))
    values = wire.cells(body.get("data"), "data")
    result = app_of(request).datasets.update_where(
        caller, rec_id, filters=filters, values=values, first_only=first_only
    )
    return {"success": True, "rows_updated": result.updated, "row_count": result.row_count}


@router.delete("/data/{rec_id}/row")
def delete_data(rec_id: int, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """`Data.delete_data()`: `{"multiplerows", "find"}` in the body or in the query string.

    The wrapper's request helper drops DELETE bodies, so `?multiplerows=first&find=[...]` (JSON)
    works too.
    """
    spec = dict(body)
    query = request.query_params
    if "find" in query:
        try:
            spec["find"] = json.loads(query["find"])
        except ValueError:
            raise InvalidInputError("find", 'JSON: [{"column", "value"}, ...]') from None
    if "multiplerows" in query:
        spec["multiplerows"] = query["multiplerows"]
    first_only = _first_only(spec.get("multiplerows"))
    filters = _find(spec.get("find"))
    result = app_of(request).datasets.delete_rows(caller, rec_id, filters=filters, first_only=first_only)
    return {"success": True, "rows_deleted": result.deleted, "row_count": result.row_count}


@router.post("/data/{rec_id}/{method}")
def rebuild_data(rec_id: int, method: str, request: Request, caller: Caller) -> dict[str, Any]:
    """`Data.rebuild_data(rec_id, method)`: reload, recreate, update, updateappend, append (rebuild)."""
    outcome = app_of(request).dataset_rebuilds.rebuild(caller, rec_id, REBUILD_ALIASES.get(method, method))
    return {
        "success": True,
        "method": outcome.method,
        "rebuilt": outcome.rebuilt,
        "rows_read": outcome.rows_read,
        "rows_inserted": outcome.inserted,
        "rows_updated": outcome.updated,
        "row_count": outcome.dataset.row_count,
        "message": outcome.message,
    }


# ----- helpers -----------------------------------------------------------------------------------
def _page(
    app: Openlytics, caller: Principal, rec_id: int, version: int | None, page: str | None, size: str | None
) -> dict[str, Any]:
    number = positive(page, "page", 1)
    per_page = positive(size, "pagesize", CAPABILITIES.default_page_size, MAX_PAGE_SIZE)
    # One row more than the page tells whether another page follows.
    reader = app.datasets.read(
        caller, rec_id, version=version, limit=per_page + 1, offset=(number - 1) * per_page
    )
    rows = reader.read_all().to_pylist()
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    return {"data": wire.records(rows), "has_more_data": has_more, "page": number, "count": len(rows)}


def _first_only(value: Any) -> bool:
    choice = "all" if value is None else str(value).strip().lower()
    if choice not in MULTIPLE_ROWS:
        raise InvalidInputError("multiplerows", f"all or first, not {value!r}")
    return choice == "first"


def _find(value: Any) -> list[Condition]:
    """`find: [{column, value}]` -> equality conditions (a null value matches missing cells)."""
    if not isinstance(value, list) or not value:
        raise InvalidInputError("find", 'a non-empty list of {"column", "value"}')
    wanted = wire.cells(value, "find")
    return [
        Condition(column, "is_not_defined") if cell is None else Condition(column, "==", cell)
        for column, cell in wanted.items()
    ]


def _all_datasets(app: Openlytics, caller: Principal, needle: str) -> list[Dataset]:
    return all_pages(
        lambda page, size: app.datasets.list(caller, search=needle or None, page=page, per_page=size)
    )
