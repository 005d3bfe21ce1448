"""Datasets: typed tables in the warehouse — settings, rows, file loads, data, versions, push tokens."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from openlytics.api import dataset_loads
from openlytics.api import serializers as ser
from openlytics.api import serializers_datasets as dser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams
from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.structured_query import parse_conditions
from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal
from openlytics.results.formats import MEDIA_TYPES, stream_result

router = APIRouter(tags=["datasets"])

Format = Literal["json", "csv", "parquet", "arrow"]
_FILE_KINDS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/gzip": "csv.gz",
    "application/x-gzip": "csv.gz",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/vnd.apache.arrow.stream": "arrow",
}


class DatasetChangesBody(Body):
    name: str | None = None
    description: str | None = None
    options: dict[str, Any] | None = None
    primary_key: list[str] | None = None
    source_query_id: int | None = None


class NewDatasetBody(DatasetChangesBody):
    name: str
    columns: list[dict[str, Any]] | None = None


@router.get("/datasets")
def list_datasets(
    app: App, principal: CurrentPrincipal, paging: PageParams, q: str | None = None
) -> dict[str, Any]:
    """Datasets by name; `q` searches names and descriptions."""
    page = app.datasets.list(principal, search=q, page=paging.page, per_page=paging.per_page)
    return ser.page_of(page, [dser.dataset(d) for d in page.items])


@router.post("/datasets", status_code=201)
def create_dataset(body: NewDatasetBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create a dataset (empty, or with columns)."""
    return dser.dataset(app.datasets.create(principal, **body.model_dump(exclude_none=True)))


@router.get("/datasets/{ref}")
def get_dataset(ref: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One dataset by id or UUID."""
    return dser.dataset(app.datasets.get(principal, ref))


@router.patch("/datasets/{dataset_id}")
def update_dataset(
    dataset_id: int, body: DatasetChangesBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Rename, describe, set options, the primary key or the source query (null: a custom table)."""
    return dser.dataset(
        app.datasets.update_settings(principal, dataset_id, **body.model_dump(exclude_unset=True))
    )


@router.delete("/datasets/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a dataset with all its versions."""
    app.datasets.delete(principal, dataset_id)
    return Response(status_code=204)


# ----- rows ---------------------------------------------------------------------------------------
@router.post("/datasets/{dataset_id}/rows")
async def append_rows(
    dataset_id: int, request: Request, app: App, principal: CurrentPrincipal, separator: str = ","
) -> dict[str, Any]:
    """Append rows: a JSON array of objects, or `{"columns": [...], "rows": [[...], ...]}`; or an
    Arrow IPC stream, a CSV (gzipped or not) or a Parquet file, by Content-Type."""
    if not _is_json(request):
        await run_in_threadpool(app.datasets.get, principal, dataset_id)  # 404/403 before the body
        path, kind = await _receive(app, request)
        try:
            source = _rows_file_source(path, kind, separator)
            result = await run_in_threadpool(app.datasets.append, principal, dataset_id, source)
        finally:
            path.unlink(missing_ok=True)
        return dser.write_result(result)
    source, _ = _rows_source(await _json(request))
    result = await run_in_threadpool(app.datasets.append, principal, dataset_id, source)
    return dser.write_result(result)


@router.post("/datasets/{dataset_id}/upsert")
async def upsert_rows(
    dataset_id: int,
    request: Request,
    app: App,
    principal: CurrentPrincipal,
    key: str | None = None,
    separator: str = ",",
) -> dict[str, Any]:
    """Insert or update rows by `key` (default: the primary key): `{"rows": [...], "key": [...]}`, or
    a body as for `/rows` with `?key=a,b`."""
    dataset = await run_in_threadpool(app.datasets.get, principal, dataset_id)
    if not _is_json(request):
        columns = _key(key.split(",") if key else None, dataset.primary_key)
        path, kind = await _receive(app, request)
        try:
            source = _rows_file_source(path, kind, separator)
            result = await run_in_threadpool(app.datasets.upsert, principal, dataset_id, source, columns)
        finally:
            path.unlink(missing_ok=True)
        return dser.write_result(result)
    source, payload = _rows_source(await _json(request))
    columns = _key(payload.get("key"), dataset.primary_key)
    result = await run_in_threadpool(app.datasets.upsert, principal, dataset_id, source, columns)
    return dser.write_result(result)


class DeleteRowsBody(Body):
    key: list[str] | str | None = None
    keys: list[Any] | None = None
    filters: list[dict[str, Any]] | None = None
    first_only: bool = False


@router.post("/datasets/{dataset_id}/delete-rows")
def delete_rows(
    dataset_id: int, body: DeleteRowsBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Delete rows by key values (`key`, `keys`) or by filters (`[{"name", "op", "value"}]`, ANDed)."""
    filters = parse_conditions(body.filters, field="filters") if body.filters is not None else None
    key = [body.key] if isinstance(body.key, str) else body.key
    result = app.datasets.delete_rows(
        principal,
        dataset_id,
        key=key,
        keys=body.keys,
        filters=list(filters) if filters is not None else None,
        first_only=body.first_only,
    )
    return dser.write_result(result)


class UpdateRowsBody(Body):
    filters: list[dict[str, Any]]
    values: dict[str, Any]
    first_only: bool = False


@router.patch("/datasets/{dataset_id}/rows")
def update_rows(
    dataset_id: int, body: UpdateRowsBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Set `values` (`{"column": value}`) on the rows matching every filter (`[{"name", "op",
    "value"}]`, ANDed; `[]` matches every row); only the first match with `first_only`."""
    filters = parse_conditions(body.filters, field="filters")
    result = app.datasets.update_where(
        principal, dataset_id, filters=list(filters), values=body.values, first_only=body.first_only
    )
    return dser.write_result(result)


class RebuildBody(Body):
    method: str = "reload"


@router.post("/datasets/{dataset_id}/rebuild")
def rebuild_dataset(
    dataset_id: int, app: App, principal: CurrentPrincipal, body: RebuildBody | None = None
) -> dict[str, Any]:
    """Run the source query afresh and apply its rows: reload, recreate, update, updateappend or
    append (a custom table, without source query, answers `"rebuilt": false`)."""
    method = body.method if body is not None else "reload"
    return dser.rebuild(app.dataset_rebuilds.rebuild(principal, dataset_id, method))


# ----- files --------------------------------------------------------------------------------------
@router.put("/datasets/{dataset_id}/data", response_model=None)
async def reload_data(
    dataset_id: int,
    request: Request,
    app: App,
    principal: CurrentPrincipal,
    separator: str = ",",
    force_types: str | None = None,
    run_async: bool = False,
) -> dict[str, Any] | JSONResponse:
    """Replace data and schema with the body: CSV, gzipped CSV, Parquet or an Arrow IPC stream
    (by Content-Type); `?force_types={"col": "float"}`; `?run_async=true` answers 202 with a task."""
    forced = _forced(force_types)
    await run_in_threadpool(app.datasets.get, principal, dataset_id)  # 404/403 before reading the body
    path, kind = await _receive(app, request, app.tasks.files_dir)
    arguments = dataset_loads.arguments(dataset_id, path, kind, separator, force_types=forced)
    return await _load(app, principal, path, arguments, run_async)


@router.patch("/datasets/{dataset_id}/data", response_model=None)
async def update_data(
    dataset_id: int,
    request: Request,
    app: App,
    principal: CurrentPrincipal,
    key: str | None = None,
    separator: str = ",",
    run_async: bool = False,
) -> dict[str, Any] | JSONResponse:
    """Insert or update from a file by `?key=a,b` (default: the primary key); the schema is unchanged."""
    dataset = await run_in_threadpool(app.datasets.get, principal, dataset_id)
    columns = _key(key.split(",") if key else None, dataset.primary_key)
    path, kind = await _receive(app, request, app.tasks.files_dir)
    arguments = dataset_loads.arguments(dataset_id, path, kind, separator, key=columns)
    return await _load(app, principal, path, arguments, run_async)


@router.get("/datasets/{dataset_id}/data")
def read_data(
    dataset_id: int,
    app: App,
    principal: CurrentPrincipal,
    format: Format = "json",
    version: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> StreamingResponse:
    """The rows of the current (or a kept) version in insertion order, streamed as JSON, CSV,
    Parquet or Arrow; `limit` and `offset` read one page."""
    reader = app.datasets.read(principal, dataset_id, version=version, limit=limit, offset=offset)
    filename = f"dataset-{dataset_id}.{'arrows' if format == 'arrow' else format}"

    def body() -> Iterator[bytes]:
        try:
            yield from stream_result(reader, format)
        finally:
            reader.close()

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body(), media_type=MEDIA_TYPES[format], headers=headers)


# ----- versions, tokens, tasks --------------------------------------------------------------------
@router.get("/datasets/{dataset_id}/versions")
def list_versions(dataset_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Kept versions, newest first."""
    return {"items": [dser.version(v) for v in app.datasets.versions(principal, dataset_id)]}


@router.post("/datasets/{dataset_id}/versions/{version}/restore")
def restore_version(dataset_id: int, version: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Make a kept version current again (as a new version)."""
    return dser.dataset(app.datasets.restore(principal, dataset_id, version))


@router.post("/datasets/{dataset_id}/push-token")
def push_token(dataset_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The dataset's push token (created on first use)."""
    return {"token": app.datasets.push_token(principal, dataset_id)}


@router.get("/tasks/{ref}")
def get_task(ref: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A background task (an asynchronous load): pending, running, success or failure."""
    return dser.task(app.tasks.get(principal, ref))


# ----- helpers ------------------------------------------------------------------------------------
async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise InvalidInputError("body", "not valid JSON") from None


def _rows_source(payload: Any) -> tuple[LoadSource, dict[str, Any]]:
    if isinstance(payload, list):
        return LoadSource.from_rows(payload), {}
    if not isinstance(payload, dict) or "rows" not in payload:
        raise InvalidInputError("body", 'an array of objects, or {"rows": [...]} (with "columns" for arrays)')
    if payload.get("columns") is not None:
        return LoadSource.from_arrays(payload["columns"], payload["rows"]), payload
    return LoadSource.from_rows(payload["rows"]), payload


def _key(given: Any, primary_key: list[str]) -> list[str]:
    key = [given] if isinstance(given, str) else (given or primary_key)
    if not key:
        raise InvalidInputError("key", "name the key columns (the dataset has no primary key)")
    return list(key)


def _forced(force_types: str | None) -> dict[str, Any] | None:
    if force_types is None:
        return None
    try:
        forced = json.loads(force_types)
    except ValueError:
        raise InvalidInputError("force_types", 'JSON like {"column": "float"}') from None
    if not isinstance(forced, dict):
        raise InvalidInputError("force_types", 'JSON like {"column": "float"}')
    return forced


async def _receive(app: Openlytics, request: Request, directory: Path | None = None) -> tuple[Path, str]:
    """Stream the body into a temporary file under the data directory (never whole in memory): in
    `directory`, or a private one for bodies used only by this request."""
    content_type = (request.headers.get("content-type") or "text/csv").split(";")[0].strip().lower()
    kind = _FILE_KINDS.get(content_type)
    if kind is None:
        raise InvalidInputError("Content-Type", f"one of {', '.join(sorted(_FILE_KINDS))}")
    if kind == "csv" and request.headers.get("content-encoding", "").lower() == "gzip":
        kind = "csv.gz"
    if directory is None:
        directory = app.settings.data_dir.resolve() / "tmp" / "loads"
        directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, suffix="." + kind)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, kind


def _is_json(request: Request) -> bool:
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0].strip()
    return content_type.lower() in ("application/json", "text/json") or content_type.endswith("+json")


def _rows_file_source(path: Path, kind: str, separator: str) -> LoadSource:
    """A file body appended or upserted as rows: read as an Arrow stream, values coerced to the
    dataset's types batch by batch (the row numbers of errors count data rows from 0)."""
    if kind == "arrow":
        return dataset_loads.file_source(path, kind, separator)
    if kind == "parquet":
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInputError("body", f"not a Parquet file: {exc}") from None
        return LoadSource.from_arrow(
            pa.RecordBatchReader.from_batches(parquet.schema_arrow, parquet.iter_batches())
        )
    if len(separator) != 1:
        raise InvalidInputError("separator", "one character")
    compression = "gzip" if kind == "csv.gz" else None
    parse = pacsv.ParseOptions(delimiter=separator)
    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            names = pacsv.open_csv(stream, parse_options=parse).schema.names
        # Text in, the dataset's types out: the same coercion as JSON rows, never a second inference.
        text = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True)
        reader = pacsv.open_csv(
            pa.input_stream(str(path), compression=compression), parse_options=parse, convert_options=text
        )
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError("body", f"not a CSV file: {exc}") from None
    return LoadSource.from_arrow(reader)


async def _load(
    app: Openlytics, principal: Principal, path: Path, arguments: dict[str, Any], run_async: bool
) -> dict[str, Any] | JSONResponse:
    """Load the received file now, or as a background task (here or on a worker, queue `loads`);
    either way `dataset_loads.load_file` does it and deletes the file."""
    if not run_async:
        result: dict[str, Any] = await run_in_threadpool(dataset_loads.load_file, app, principal, arguments)
        return result
    try:
        task = await run_in_threadpool(app.tasks.submit, principal, dataset_loads.DATASET_LOAD, arguments)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return JSONResponse({"task": dser.task(task)}, status_code=202)
