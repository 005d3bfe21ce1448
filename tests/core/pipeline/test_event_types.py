"""Event types: discovery of nested fields, AUTO_MAP naming, set_mapping validation, modes."""

from __future__ import annotations

from typing import Any

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.pipeline.event_types import safe_name
from openlytics.core.principal import Principal, Role


def walk(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        out.append(f)
        out.extend(walk(f["fields"]))
    return out


def by_path(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def visit(fields: list[dict[str, Any]], prefix: str) -> None:
        for f in fields:
            path = prefix + f["fieldName"]
            found[path] = f["mapping"]
            visit(f["fields"], path + ".")

    visit(document["fields"], "")
    return found


def test_observe_merges_nested_fields_and_auto_maps_them(app: Openlytics, system: Principal) -> None:
    first = [{"user": {"id": 1, "address": {"city": "Oslo"}}, "price": 3, "tags": ["a"]}]
    second = [{"user": {"id": 2, "plan": None}, "price": 4.5, "Shown At": "2026-01-02T03:04:05Z"}]
    app.event_types.observe(system.org_id, "Order Paid", first)
    event_type = app.event_types.observe(system.org_id, "Order Paid", second)
    assert event_type.state == "MAPPED" and event_type.table_name == "order_paid"
    document = app.event_types.to_document(event_type)
    assert {
        "name",
        "state",
        "mappingMode",
        "usingDefaultMappingMode",
        "schemaUrls",
        "stats",
        "mapping",
    } <= set(document)
    assert document["mappingMode"] == "AUTO_MAP" and document["usingDefaultMappingMode"] is True
    assert all("fields" in f and "mapping" in f for f in walk(document["fields"]))
    mappings = by_path(document)
    assert mappings["user"] is None  # a parent of sub-fields has no column of its own
    assert mappings["user.id"]["columnName"] == "user_id"
    assert mappings["user.id"]["columnType"]["type"] == "BIGINT"
    assert mappings["user.address.city"]["columnName"] == "user_address_city"
    assert mappings["user.plan"] is None  # only nulls so far: nothing to infer a type from
    assert mappings["tags"]["columnType"]["type"] == "VARCHAR"  # lists are JSON text
    assert mappings["Shown At"]["columnName"] == "shown_at"
    assert mappings["Shown At"]["columnType"]["type"] == "TIMESTAMP"
    # price was mapped BIGINT by the first batch; a float later is a type conflict, not a retype
    assert mappings["price"]["columnType"]["type"] == "BIGINT"
    assert "price" in (event_type.auto_mapping_error or "")


def test_auto_mapped_column_names_are_safe_and_unique(app: Openlytics, system: Principal) -> None:
    event_type = app.event_types.observe(
        system.org_id,
        "1 weird/Type",
        [{"User Name": "a", "user_name": "b", "9lives": 1, "a": {"b": 1}, "a_b": 2}],
    )
    columns = [m["columnName"] for m in by_path(app.event_types.to_document(event_type)).values() if m]
    assert columns == ["user_name", "user_name_2", "_9lives", "a_b", "a_b_2"]
    assert event_type.table_name == "_1_weird_type"
    assert safe_name("") == "field"


def test_strict_mode_discovers_fields_without_mapping_them(app: Openlytics, system: Principal) -> None:
    app.event_types.set_default_mode(system, "strict")
    assert app.event_types.default_mode(system.org_id) == "STRICT"
    event_type = app.event_types.observe(system.org_id, "clicks", [{"x": 1}])
    assert event_type.state == "UNMAPPED" and event_type.table_name is None
    assert by_path(app.event_types.to_document(event_type)) == {"x": None}
    with pytest.raises(InvalidInputError):
        app.event_types.set_default_mode(system, "SOMETIMES")


def mapping_document(**columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "signup",
        "mapping": {"isDiscarded": False, "tableName": "signups", "schema": "main", "readOnly": False},
        "mappingMode": "STRICT",
        "fields": [
            {"fieldName": name, "fields": [], "mapping": {"columnName": name, "columnType": column_type}}
            for name, column_type in columns.items()
        ],
    }


def test_set_mapping_creates_a_mapped_type_and_keeps_observed_fields(
    app: Openlytics, system: Principal
) -> None:
    app.event_types.set_default_mode(system, "STRICT")
    app.event_types.observe(system.org_id, "signup", [{"email": "a@b", "age": 3}])
    doc = mapping_document(email={"type": "varchar", "length": 100})
    event_type = app.event_types.set_mapping(system, "signup", doc)
    assert (
        event_type.state == "MAPPED"
        and event_type.table_name == "signups"
        and event_type.mapping_mode == "STRICT"
    )
    shown = app.event_types.to_document(app.event_types.get(system, "signup"))
    assert shown["mapping"]["tableName"] == "signups" and shown["usingDefaultMappingMode"] is False
    mappings = by_path(shown)
    assert mappings["email"]["columnType"] == {
        "type": "VARCHAR",
        "nonNull": False,
        "length": 100,
        "truncate": False,
    }
    assert mappings["age"] is None  # observed, left out of the document: known, unmapped
    # a mapping may be set before any event arrives
    fresh = app.event_types.set_mapping(system, "later", mapping_document(n={"type": "BIGINT"}))
    assert fresh.state == "MAPPED"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (mapping_document(a={"type": "GEOMETRY"}), "fields.a.mapping.columnType.type"),
        (
            {
                **mapping_document(),
                "fields": [
                    {"fieldName": "a", "mapping": {"columnName": "x", "columnType": {"type": "INT"}}},
                    {"fieldName": "b", "mapping": {"columnName": "X", "columnType": {"type": "INT"}}},
                ],
            },
            "fields",
        ),
        ({**mapping_document(a={"type": "INT"}), "mapping": {"tableName": ""}}, "mapping.tableName"),
        ({**mapping_document(), "mappingMode": "LOOSE"}, "mappingMode"),
        ({"fields": [{"noName": 1}]}, "fields"),
    ],
)
def test_set_mapping_rejects_bad_documents(
    app: Openlytics, system: Principal, document: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        app.event_types.set_mapping(system, "signup", document)
    assert raised.value.field == field


def test_discard_delete_and_permissions(app: Openlytics, system: Principal) -> None:
    app.event_types.observe(system.org_id, "noise", [{"a": 1}])
    discard = {
        "name": "noise",
        "mapping": {"isDiscarded": True, "tableName": ""},
        "fields": [],
        "mappingMode": "STRICT",
    }
    assert app.event_types.set_mapping(system, "noise", discard).state == "DISCARDED"
    assert app.event_types.discard(system, "other").state == "DISCARDED"
    assert [e.name for e in app.event_types.list(system)] == ["noise", "other"]
    viewer = Principal(org_id=system.org_id, user_id=None, role=Role.VIEWER, credential="user_key")
    assert app.event_types.get(viewer, "noise").name == "noise"
    with pytest.raises(PermissionDeniedError):
        app.event_types.set_mapping(viewer, "noise", discard)
    with pytest.raises(PermissionDeniedError):
        app.event_types.delete(viewer, "noise")
    app.event_types.delete(system, "noise")
    with pytest.raises(NotFoundError):
        app.event_types.get(system, "noise")
    with pytest.raises(NotFoundError):
        app.event_types.delete(system, "noise")
    other_org = Principal.system(system.org_id + 999)
    assert app.event_types.list(other_org) == []
