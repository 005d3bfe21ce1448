"""Query results (run, cached, downloads as JSON and CSV) and jobs (poll, cancel)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.jobs import RunOutcome
from openlytics.core.principal import Principal
from openlytics.dialects.tonalytica import wire
from openlytics.dialects.tonalytica.auth import Caller, app_of
from openlytics.dialects.tonalytica.routes.common import Body, int_field
from openlytics.engines.base import ColumnInfo
from openlytics.results.formats import MEDIA_TYPES, stream_result
from openlytics.store.models import QueryResult

router = APIRouter()


def run_response(app: Openlytics, outcome: RunOutcome, *, always_job: bool) -> Any:
    """`{"job": ...}`, or `{"query_result": ...}` for a cached result when no job ran."""
    if outcome.job is not None and (always_job or outcome.result is None):
        return {"job": wire.job(outcome.job)}
    assert outcome.result is not None
    return result_response(app, outcome.result)


@router.post("/query_results")
def generate_query_results(request: Request, caller: Caller, body: Body) -> Any:
    """POST query_results: run SQL (or a saved query's SQL); with max_age 0 always a job."""
    app = app_of(request)
    max_age = _number(body.get("max_age", 0), "max_age")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInputError("parameters", "an object of parameter values")
    query_id = int_field(body, "query_id", required=False)
    sql = body.get("query")
    wait = app.settings.max_wait_seconds
    if query_id is not None and _is_saved_text(app, caller, query_id, sql):
        outcome = app.jobs.run_saved(caller, query_id, parameters=parameters, max_age=max_age, wait=wait)
    else:
        if parameters:
            raise InvalidInputError(
                "parameters", "ad-hoc SQL takes no parameter values; save the query first"
            )
        if not isinstance(sql, str):
            raise InvalidInputError("query", "the SQL text to run")
        outcome = app.jobs.run_adhoc(
            caller,
            sql,
            data_source_id=int_field(body, "data_source_id", required=False),
            max_age=max_age,
            wait=wait,
        )
    return run_response(app, outcome, always_job=max_age == 0)


@router.post("/queries/{query_id}/results")
def query_results(query_id: int, request: Request, caller: Caller, body: Body) -> Any:
    """POST queries/<id>/results: run a saved query with parameter values (cached unless max_age 0)."""
    app = app_of(request)
    max_age = _number(body.get("max_age", -1), "max_age")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInputError("parameters", "an object of parameter values")
    outcome = app.jobs.run_saved(
        caller, query_id, parameters=parameters, max_age=max_age, wait=app.settings.max_wait_seconds
    )
    return run_response(app, outcome, always_job=max_age == 0)


@router.get("/queries/{query_id}/results")
def latest_query_result(query_id: int, request: Request, caller: Caller) -> Any:
    """GET queries/<id>/results: the latest result of a query."""
    return result_response(app_of(request), _latest(app_of(request), caller, query_id))


@router.get("/queries/{query_id}/results.{fmt}")
def latest_query_result_file(query_id: int, fmt: str, request: Request, caller: Caller) -> Any:
    """GET queries/<id>/results.json|csv."""
    app = app_of(request)
    return _download(app, caller, _latest(app, caller, query_id).id, fmt)


@router.get("/queries/{query_id}/results/{result_id:int}.{fmt}")
def query_result_file(query_id: int, result_id: int, fmt: str, request: Request, caller: Caller) -> Any:
    """GET queries/<id>/results/<result id>.json|csv (the refresh_query.py example)."""
    app = app_of(request)
    caller.require_query(query_id)
    return _download(app, caller, result_id, fmt, query_id=query_id)


@router.get("/query_results/{result_id:int}.{fmt}")
def query_result_download(result_id: int, fmt: str, request: Request, caller: Caller) -> Any:
    """GET query_results/<id>.json|csv: downloads, also with ?api_key= for shared links."""
    return _download(app_of(request), caller, result_id, fmt)


@router.get("/query_results/{result_id:int}")
def get_query_result(result_id: int, request: Request, caller: Caller) -> Any:
    """GET query_results/<id>: the result with its data (streamed)."""
    app = app_of(request)
    return result_response(app, app.jobs.get_result(caller, result_id))


@router.get("/jobs/{job_id}")
def get_job(job_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET jobs/<id>: `query_result_id` also at the top level (one client reads it there)."""
    job = app_of(request).jobs.get(caller, job_id)
    return {"job": wire.job(job), "query_result_id": job.result_id}


@router.delete("/jobs/{job_id}")
def cancel_job(job_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE jobs/<id>: cancel; a running statement is interrupted."""
    job = app_of(request).jobs.cancel(caller, job_id)
    return {"job": wire.job(job), "query_result_id": job.result_id}


def result_response(app: Openlytics, result: QueryResult) -> StreamingResponse:
    """`{"query_result": {..., "data": {"columns": [...], "rows": [...]}}}`, rows streamed."""
    reader = app.results.open(result.path)
    columns = [ColumnInfo(c["name"], wire.column_type(c["type"])) for c in result.columns]
    head = json.dumps({"query_result": wire.result_meta(result)})[:-2] + ', "data": '

    def body() -> Iterator[bytes]:
        try:
            yield head.encode()
            yield from stream_result(reader, "json", columns=columns)
            yield b"}}"
        finally:
            reader.close()

    return StreamingResponse(body(), media_type="application/json")


def _download(
    app: Openlytics, caller: Principal, result_id: int, fmt: str, *, query_id: int | None = None
) -> StreamingResponse:
    if fmt not in ("json", "csv"):
        raise InvalidInputError("format", "json or csv")
    result = app.jobs.get_result(caller, result_id)
    if query_id is not None and result.query_id != query_id:
        raise InvalidInputError("result_id", f"result {result_id} is not a result of query {query_id}")
    if fmt == "json":
        return result_response(app, result)
    reader = app.results.open(result.path)

    def body() -> Iterator[bytes]:
        try:
            yield from stream_result(reader, "csv")
        finally:
            reader.close()

    name = f"query_result_{result_id}.csv"
    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES["csv"],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _latest(app: Openlytics, caller: Principal, query_id: int) -> QueryResult:
    query = app.queries.get(caller, query_id)
    if query.latest_result_id is None:
        raise NotFoundError("result of query", query_id)
    return app.jobs.get_result(caller, query.latest_result_id)


def _is_saved_text(app: Openlytics, caller: Principal, query_id: int, sql: Any) -> bool:
    query = app.queries.get(caller, query_id)
    return sql is None or sql == query.sql


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise InvalidInputError(field, "a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(field, "a number") from None
