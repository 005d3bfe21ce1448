"""Running SQL, jobs and results (metadata and streamed data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from openlytics.api import serializers as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.errors import error_response
from openlytics.api.routers.common import Body, PageParams
from openlytics.app import Openlytics
from openlytics.core.jobs import JobStatus, RunOutcome
from openlytics.engines.base import ColumnInfo
from openlytics.results.formats import MEDIA_TYPES, stream_result

router = APIRouter(tags=["runs"])

Format = Literal["json", "csv", "parquet", "arrow"]


class ResultFileResponse(FileResponse):
    """A stored result sent as is; 1 MiB chunks move large results about twice as fast as 64 KiB."""

    chunk_size = 1024 * 1024


def file_chunks(source: pa.NativeFile) -> Iterator[bytes]:
    """The bytes of `source` in ResultFileResponse's chunk size, closing it at the end."""
    with source:
        while chunk := source.read(ResultFileResponse.chunk_size):
            yield chunk


class RunOptions(Body):
    max_age: float = 0
    wait: float = 0


class RunBody(RunOptions):
    parameters: dict[str, Any] | None = None


class AdhocRunBody(RunOptions):
    sql: str
    data_source_id: int | None = None
    timeout: float | None = None


def run_response(app: Openlytics, outcome: RunOutcome) -> JSONResponse:
    """200 with the result, 202 with the running job, or the job's error."""
    job = outcome.job
    if job is not None and job.status in (JobStatus.FAILURE, JobStatus.CANCELLED):
        return error_response(
            job.error_code or "query_failed", job.error or "query failed", {"job_id": job.id}
        )
    if outcome.result is None:
        assert job is not None
        return JSONResponse({"job": ser.job(job), "result": None}, status_code=202)
    rows = app.jobs.inline_rows(outcome.result)
    return JSONResponse({"job": ser.job(job) if job else None, "result": ser.result(outcome.result, rows)})


@router.post("/runs")
def run_sql(body: AdhocRunBody, app: App, principal: CurrentPrincipal) -> JSONResponse:
    """Run ad-hoc SQL: 200 with the result when ready within `wait`, else 202 with the job."""
    outcome = app.jobs.run_adhoc(
        principal,
        body.sql,
        data_source_id=body.data_source_id,
        max_age=body.max_age,
        wait=body.wait,
        timeout=body.timeout,
    )
    return run_response(app, outcome)


@router.get("/jobs")
def list_jobs(
    app: App,
    principal: CurrentPrincipal,
    paging: PageParams,
    status: Annotated[int | None, Query(ge=1, le=5)] = None,
    query_id: int | None = None,
) -> dict[str, Any]:
    """Jobs, newest first."""
    page = app.jobs.list(
        principal, status=status, query_id=query_id, page=paging.page, per_page=paging.per_page
    )
    return ser.page_of(page, [ser.job(j) for j in page.items])


@router.get("/jobs/{job_id}")
def get_job(job_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One job."""
    return ser.job(app.jobs.get(principal, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Cancel a job; a running statement is interrupted in its engine."""
    return ser.job(app.jobs.cancel(principal, job_id))


@router.get("/results/{result_id}")
def get_result(result_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A result's metadata (rows inlined when small)."""
    result = app.jobs.get_result(principal, result_id)
    return ser.result(result, app.jobs.inline_rows(result))


@router.get("/results/{result_id}/data", response_model=None)
def get_result_data(
    result_id: int, app: App, principal: CurrentPrincipal, format: Format = "json"
) -> StreamingResponse | ResultFileResponse:
    """The data, streamed as JSON, CSV, Parquet or an Arrow IPC stream."""
    filename = f"result-{result_id}.{'arrows' if format == 'arrow' else format}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "arrow":
        # Results are stored as (LZ4-compressed) Arrow IPC streams: serve the file itself.
        result, path = app.jobs.result_file(principal, result_id)
        if path is not None:
            return ResultFileResponse(path, media_type=MEDIA_TYPES["arrow"], headers=disposition)
        # Not on this machine (an object store, ...): relay it from the results store.
        source = app.jobs.open_result_file(result)
        headers = {**disposition, "Content-Length": str(result.byte_size)}
        return StreamingResponse(file_chunks(source), media_type=MEDIA_TYPES["arrow"], headers=headers)
    result, reader = app.jobs.open_result(principal, result_id)

    def body() -> Iterator[bytes]:
        try:
            columns = [ColumnInfo(c["name"], c["type"]) for c in result.columns]
            yield from stream_result(reader, format, columns=columns)
        finally:
            reader.close()

    return StreamingResponse(body(), media_type=MEDIA_TYPES[format], headers=disposition)
