"""Tables and schemas of the output."""

from __future__ import annotations

from typing import Any

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.alooma import wire
from openlytics.dialects.alooma.dispatch import Call, Routes

routes = Routes()


@routes.get("tables")
def get_tables(call: Call) -> list[dict[str, Any]]:
    """Every table of the output (`?shallow=true`: without columns)."""
    return _tables(call, None)


@routes.get("tables/{schema}")
def get_tables_of_schema(call: Call) -> list[dict[str, Any]]:
    """The tables of one schema."""
    return _tables(call, call.params["schema"])


@routes.post("tables/{table}")
def create_table(call: Call) -> dict[str, Any]:
    """A new table in the default schema; the body is the list of columns."""
    created = call.app.output_tables.create(call.principal, call.params["table"], _columns(call))
    return wire.table(created)


@routes.put("tables/{table}")
def alter_table(call: Call) -> dict[str, Any]:
    """Add columns (and widen existing ones) in a table of the default schema."""
    altered = call.app.output_tables.alter(call.principal, call.params["table"], _columns(call))
    return wire.table(altered)


@routes.delete("tables/{schema}/{table}")
def drop_table(call: Call) -> dict[str, Any]:
    """Drop a table (`?cascade=true` drops what depends on it)."""
    cascade = (call.arg("cascade") or "false").lower() == "true"
    call.app.output_tables.drop(call.principal, call.params["schema"], call.params["table"], cascade=cascade)
    return {}


@routes.get("tables/{schema}/{table}/dependencies")
def get_table_dependencies(call: Call) -> list[str]:
    """Names of the objects that depend on a table."""
    return list(
        call.app.output_tables.dependencies(call.principal, call.params["schema"], call.params["table"])
    )


@routes.get("schemas")
def get_schemas(call: Call) -> list[dict[str, Any]]:
    """`[{"schemaName", "default"}]`."""
    schemas = call.app.output_tables.schemas(call.principal)
    return [{"schemaName": name, "default": bool(default)} for name, default in schemas]


@routes.post("schemas")
def create_schema(call: Call) -> dict[str, Any]:
    """A new schema: `{"schemaName": ...}` (or a bare name)."""
    body = call.json()
    name = body.get("schemaName") or body.get("name") if isinstance(body, dict) else body
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("schemaName", "a schema name")
    call.app.output_tables.create_schema(call.principal, name)
    return {"schemaName": name, "default": False}


def _tables(call: Call, schema: str | None) -> list[dict[str, Any]]:
    shallow = (call.arg("shallow") or "false").lower() == "true"
    found = call.app.output_tables.list(call.principal, schema=schema, shallow=shallow)
    return [wire.table(t, shallow=shallow) for t in found]


def _columns(call: Call) -> list[dict[str, Any]]:
    columns = call.json()
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise InvalidInputError("body", 'a list of columns {"columnName", "columnType", ...}')
    return columns
