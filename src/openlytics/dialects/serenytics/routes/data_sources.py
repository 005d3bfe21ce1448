"""Storage data sources (our datasets): configs, file reloads and updates, batch, push, cache."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import IncompatibleValueError, InvalidInputError
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Action, Principal
from openlytics.dialects.serenytics import background, wire
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.errors import functional_error
from openlytics.dialects.serenytics.routes.common import Body, restless_filter, restless_list
from openlytics.store.models import Dataset

router = APIRouter()


@router.get("/data_source")
def get_data_sources(request: Request, caller: Caller, q: str | None = None) -> dict[str, Any]:
    """GET data_source (`get_data_sources`, `get_data_source_by_name` with a `q` name filter)."""
    app = app_of(request)
    keep = restless_filter(q)
    configs = [_config(app, caller, d) for d in _all_datasets(app, caller)]
    return restless_list([c for c in configs if keep(c)])


@router.post("/data_source", status_code=201)
def create_data_source(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST data_source (`get_or_create_storage_data_source_by_name`) -> 201 with the config."""
    app = app_of(request)
    if body.get("type", "Storage") != "Storage":
        raise InvalidInputError("type", "only Storage data sources can be created through this API")
    content = body.get("jsonContent") or {}
    if not isinstance(content, dict):
        raise InvalidInputError("jsonContent", "an object")
    name = body.get("name")
    if not isinstance(name, str):
        raise InvalidInputError("name", "a string")
    dataset = app.datasets.create(caller, name=name, options={wire.DATASET_CONFIG_KEY: content})
    return _config(app, caller, dataset)


@router.get("/data_source/{uuid}")
def get_data_source_by_uuid(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET data_source/<uuid> (404 -> UnknownDataSource)."""
    app = app_of(request)
    return _config(app, caller, app.datasets.get(caller, uuid))


@router.put("/data_source/{uuid}")
def save_data_source(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """PUT data_source/<uuid> (`save()`): the whole document replaces the stored settings."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    name = body.get("name") if isinstance(body.get("name"), str) and body["name"] != dataset.name else None
    updated = app.datasets.update_settings(
        caller, dataset.id, name=name, options=wire.data_source_options(dataset.options or {}, body)
    )
    return _config(app, caller, updated)


@router.delete("/data_source/{uuid}", status_code=204)
def delete_data_source(uuid: str, request: Request, caller: Caller) -> Response:
    """DELETE data_source/<uuid> (the client's test fixtures) -> 204."""
    app = app_of(request)
    app.datasets.delete(caller, app.datasets.get(caller, uuid).id)
    return Response(status_code=204)


@router.post("/data_source/{uuid}/reload_from_file")
def reload_from_file(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """POST reload_from_file: replace data and schema with the uploaded file (a task)."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    upload = app.uploads.latest_for_dataset(caller, dataset.id)
    arguments = {"dataset_id": dataset.id, "upload_path": upload.path}
    task = app.tasks.submit(caller, background.DATASET_RELOAD, arguments, wait=app.settings.max_wait_seconds)
    return {"status": "ok", "task_id": str(task.uuid)}


@router.post("/data_source/{uuid}/update_from_file")
def update_from_file(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST update_from_file {primary_key}: upsert the uploaded file's rows by that key (a task)."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    key = body.get("primary_key")
    if not isinstance(key, str) or not key:
        raise InvalidInputError("primary_key", "a column name")
    upload = app.uploads.latest_for_dataset(caller, dataset.id)
    arguments = {"dataset_id": dataset.id, "upload_path": upload.path, "primary_key": key}
    task = app.tasks.submit(caller, background.DATASET_UPDATE, arguments, wait=app.settings.max_wait_seconds)
    return {"status": "ok", "task_id": str(task.uuid)}


@router.post("/data_source/{uuid}/batch")
def batch(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST batch {operations: insert / insertOrUpdate / delete}, applied in order; status in the body."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    operations = body.get("operations")
    if not isinstance(operations, list):
        raise InvalidInputError("operations", "a list")
    try:
        for index, operation in enumerate(operations):
            _apply(app, caller, dataset, operation, index)
    except IncompatibleValueError as exc:
        return functional_error(_incompatible(exc))
    except InvalidInputError as exc:
        return functional_error(exc.message)
    return {"status": "ok"}


@router.post("/data_source/{uuid}/push/{token}")
def push_data(uuid: str, token: str, request: Request, body: Body) -> dict[str, Any]:
    """POST push/<token>: append one row; the token authorises (no API key)."""
    app = app_of(request)
    principal, dataset = app.datasets.resolve_push_token(token)
    if str(dataset.uuid) != uuid:
        raise InvalidInputError("token", "not the token of this data source")
    try:
        app.datasets.append(principal, dataset.id, LoadSource.from_rows([body]))
    except IncompatibleValueError as exc:
        return functional_error(_incompatible(exc))
    return {"status": "ok"}


@router.post("/data_source/{uuid}/invalidate_cache")
def invalidate_cache(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """POST invalidate_cache: cached query results over this source are dropped."""
    app = app_of(request)
    app.sources.invalidate_cache(caller, app.datasets.get(caller, uuid).data_source_id)
    return {"status": "ok"}


@router.post("/data_source/{uuid}/reload_users_metadata")
def reload_users_metadata(uuid: str, request: Request, caller: Caller) -> JSONResponse:
    """POST reload_users_metadata: rows of (login, metadata...) become user metadata (admins)."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    table = app.datasets.read(caller, dataset.id).read_all()
    if table.num_columns < 1 or table.column_names[0] != "login":
        raise InvalidInputError("columns", "the first column must be `login`")
    metadata = {row.pop("login"): row for row in table.to_pylist()}
    updated = app.identity.set_user_metadata(caller, metadata)
    return JSONResponse({"status": "ok", "nb_users": updated})


def _apply(app: Openlytics, caller: Principal, dataset: Dataset, operation: Any, index: int) -> None:
    if not isinstance(operation, dict) or not isinstance(operation.get("rows"), list):
        raise InvalidInputError(f"operations[{index}]", "an object with an action and rows")
    action, rows, key = operation.get("action"), operation["rows"], operation.get("primaryKey")
    if action == "insert":
        app.datasets.append(caller, dataset.id, LoadSource.from_rows(rows))
    elif action == "insertOrUpdate":
        app.datasets.upsert(caller, dataset.id, LoadSource.from_rows(rows), [_key(key, index)])
    elif action == "delete":
        app.datasets.delete_rows(caller, dataset.id, key=[_key(key, index)], keys=rows)
    else:
        raise InvalidInputError(f"operations[{index}].action", "insert, insertOrUpdate or delete")


def _key(value: Any, index: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"operations[{index}].primaryKey", "a column name")
    return value


def _incompatible(exc: IncompatibleValueError) -> str:
    # The client's tests look for this sentence.
    return (
        f'invalid data "{exc.value}" was pushed and is incompatible with current table column types '
        f"(column {exc.column}, row {exc.row}, expected {exc.expected_type})"
    )


def _config(app: Openlytics, caller: Principal, dataset: Dataset) -> dict[str, Any]:
    token = app.datasets.push_token(caller, dataset.id) if caller.can(Action.WRITE) else None
    return wire.data_source(dataset, token=token)


def _all_datasets(app: Openlytics, caller: Principal) -> list[Dataset]:
    return all_pages(lambda page, size: app.datasets.list(caller, page=page, per_page=size))
