"""The pipeline's output: where events load, its tables and schemas, and scheduled queries on it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from openlytics.api import serializers as ser
from openlytics.api import serializers_pipeline as pser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body
from openlytics.app import Openlytics
from openlytics.store.models import PipelineOutput

router = APIRouter(tags=["pipeline"])


def _output(app: Openlytics, record: PipelineOutput) -> dict[str, Any]:
    outputs = app.pipeline_outputs
    return pser.output(record, outputs.shown_configuration(record), outputs.is_warehouse(record))


class OutputBody(Body):
    type: str
    configuration: dict[str, Any] = {}
    name: str | None = None


@router.get("/output")
def get_output(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Where mapped events load: the warehouse (default) or a PostgreSQL/Redshift database."""
    return _output(app, app.pipeline_outputs.get(principal))


@router.put("/output")
def set_output(body: OutputBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Point the output elsewhere (`type`: REDSHIFT, SNOWFLAKE, BIGQUERY; `{"target": "warehouse"}`
    for the warehouse); a database is validated unless `skipValidation`."""
    outputs = app.pipeline_outputs
    record = outputs.set(principal, type=body.type, configuration=body.configuration, name=body.name)
    return _output(app, record)


# ----- tables and schemas -------------------------------------------------------------------------
class NewTableBody(Body):
    name: str
    columns: list[dict[str, Any]]


class TableChangesBody(Body):
    columns: list[dict[str, Any]]


class SchemaBody(Body):
    name: str


@router.get("/tables")
def list_tables(
    app: App, principal: CurrentPrincipal, schema: str | None = None, shallow: bool = False
) -> dict[str, Any]:
    """The tables of a schema (default: the output's), by name; `shallow` leaves out the columns."""
    found = app.output_tables.list(principal, schema=schema, shallow=shallow)
    return {"items": [pser.output_table(t) for t in found]}


@router.post("/tables", status_code=201)
def create_table(body: NewTableBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create a table in the default schema: columns `{"columnName", "columnType": {"type",
    "length"?, "nonNull"?}, "primaryKey"?, "distKey"?, "sortKeyIndex"?}`."""
    return pser.output_table(app.output_tables.create(principal, body.name, body.columns))


@router.patch("/tables/{name}")
def alter_table(name: str, body: TableChangesBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Add the columns that are new (an existing column's type is never changed)."""
    return pser.output_table(app.output_tables.alter(principal, name, body.columns))


@router.get("/tables/{schema}/{name}")
def get_table(schema: str, name: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One table with its columns."""
    return pser.output_table(app.output_tables.get(principal, name, schema=schema))


@router.delete("/tables/{schema}/{name}", status_code=204)
def drop_table(
    schema: str, name: str, app: App, principal: CurrentPrincipal, cascade: bool = False
) -> Response:
    """Drop a table; with dependents (409 listing them) only with `cascade`, which archives the
    dependent queries."""
    app.output_tables.drop(principal, schema, name, cascade=cascade)
    return Response(status_code=204)


@router.get("/tables/{schema}/{name}/dependencies")
def table_dependencies(schema: str, name: str, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """What reads the table: `["query:Daily sales (12)", "dashboard:Ops (3)", "view:public.v"]`."""
    return {"items": app.output_tables.dependencies(principal, schema, name)}


@router.get("/schemas")
def list_schemas(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The output's schemas."""
    found = app.output_tables.schemas(principal)
    return {"items": [{"name": name, "is_default": is_default} for name, is_default in found]}


@router.post("/schemas", status_code=201)
def create_schema(body: SchemaBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create a schema (PostgreSQL outputs; the warehouse has one)."""
    app.output_tables.create_schema(principal, body.name)
    return {"name": body.name.strip(), "is_default": False}


# ----- scheduled queries --------------------------------------------------------------------------
class ScheduledQueryBody(Body):
    event_type: str
    query: str | None = None
    frequency: float | str | None = None
    run_at: str | None = None
    custom_variables: dict[str, Any] | None = None


@router.get("/scheduled-queries")
def list_scheduled_queries(
    app: App, principal: CurrentPrincipal, event_type: str | None = None
) -> dict[str, Any]:
    """Scheduled queries on the output, oldest first."""
    found = app.scheduled_queries.list(principal, event_type=event_type)
    return {"items": [pser.scheduled_query(q) for q in found]}


@router.post("/scheduled-queries", status_code=201)
def create_scheduled_query(body: ScheduledQueryBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Schedule `query` (a custom query), or without it the consolidation of the event type's table
    into `<table>_consolidated`; every `frequency` hours or at `run_at` (5-field cron, UTC)."""
    if body.query is not None:
        created = app.scheduled_queries.create_custom(
            principal,
            event_type=body.event_type,
            query=body.query,
            frequency_hours=body.frequency,  # type: ignore[arg-type]  # numeric text is checked there
            run_at=body.run_at,
        )
    else:
        configuration = body.model_dump(exclude={"query"}, exclude_none=True)
        created = app.scheduled_queries.create_default(principal, configuration)
    return pser.scheduled_query(created)


@router.get("/scheduled-queries/{query_id}")
def get_scheduled_query(query_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One scheduled query with how its runs went."""
    return pser.scheduled_query(app.scheduled_queries.get(principal, query_id))


@router.delete("/scheduled-queries/{query_id}", status_code=204)
def delete_scheduled_query(query_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Remove a scheduled query (its schedule and its saved query)."""
    app.scheduled_queries.remove(principal, query_id)
    return Response(status_code=204)


@router.post("/scheduled-queries/{query_id}/run")
def run_scheduled_query(query_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Run it now: the schedule run (its job runs in the background)."""
    return ser.run_to_dict(app.scheduled_queries.run(principal, query_id))
