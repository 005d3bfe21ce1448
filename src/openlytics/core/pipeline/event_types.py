"""Event types: the fields seen in each kind of event, and how they map onto an output table.

The field tree kept in `EventType.fields` is a list of nodes
`{"fieldName", "fields": [...], "mapping": None | {...}, "types": [dataset types seen]}`; nested
objects are sub-trees, lists are leaves (stored as JSON text). A node's `mapping` is
`{"columnName", "columnType": {"type", "length"?, "nonNull", "truncate"?}, "isDiscarded"}`.

Rules:
- `observe` merges the fields of incoming events. In AUTO_MAP (the event type's mode, else the
  organization's) a type without table gets one named after it (made safe), and every field that
  has a non-null value and no mapping gets a column: the path's names made safe
  (lowercase `[a-z0-9_]`, no leading digit) joined with `_`, made unique in the table with `_2`,
  `_3`...; its type is the narrowest holding every value seen in the batch (strings are VARCHAR of
  the maximum length, so no value is too long). A mapped column is never retyped: values of a type
  it cannot hold set `autoMappingError` and their events fail to convert (TYPE_MISMATCH).
- `set_mapping` replaces the mapping with the posted document (fields it omits stay known but
  unmapped); column types must be known, column names unique in the table, and a type with a
  mapped field needs a table name.
- The state is DISCARDED when discarded, MAPPED when it has a table, else UNMAPPED.
"""

from __future__ import annotations

import builtins
import copy
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.pipeline import column_types, require_read
from openlytics.core.pipeline.settings import settings_row
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import EventType, PipelineInput, PipelineSettings

MODES = ("AUTO_MAP", "STRICT", "FLEXIBLE")
DEFAULT_MODE = "AUTO_MAP"
METADATA_FIELD = "_metadata"
MAX_NAME_LENGTH = 115
_UNSAFE = re.compile(r"[^a-z0-9_]+")

Path = tuple[str, ...]


def safe_name(text: str) -> str:
    """A table or column name: lowercase `[a-z0-9_]`, no leading digit, never empty."""
    name = _UNSAFE.sub("_", str(text).lower())[:MAX_NAME_LENGTH] or "field"
    return "_" + name if name[0].isdigit() else name


def mapped_columns(tree: Sequence[dict[str, Any]], path: Path = ()) -> list[tuple[Path, dict[str, Any]]]:
    """(field path, mapping) of every field mapped onto a column, in tree order."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for node in tree:
        here = (*path, node["fieldName"])
        mapping = node.get("mapping")
        if mapping and not mapping.get("isDiscarded") and mapping.get("columnName"):
            found.append((here, mapping))
        found.extend(mapped_columns(node.get("fields") or [], here))
    return found


def state_of(event_type: EventType) -> str:
    """DISCARDED, MAPPED (has a table) or UNMAPPED."""
    if event_type.is_discarded:
        return "DISCARDED"
    return "MAPPED" if event_type.table_name else "UNMAPPED"


class EventTypeService:
    """Event types of an organization: discovery, mappings and the mapping mode."""

    def __init__(self, db: Database, *, default_schema: Callable[[int], str | None] | None = None) -> None:
        self.db = db
        self.default_schema = default_schema or (lambda org_id: None)
        # Called with (org_id, name) after an event type is deleted (samples, counts).
        self.on_deleted: builtins.list[Callable[[int, str], None]] = []

    # ----- reading -----------------------------------------------------------------------------
    def list(self, principal: Principal) -> builtins.list[EventType]:
        """The organization's event types, by name."""
        require_read(principal, "event types")
        with self.db.session() as s:
            query = select(EventType).where(EventType.org_id == principal.org_id).order_by(EventType.name)
            return builtins.list(s.scalars(query))

    def get(self, principal: Principal, name: str) -> EventType:
        """One event type by name."""
        require_read(principal, f"event type {name}")
        found = self.find(principal.org_id, name)
        if found is None:
            raise NotFoundError("event type", name)
        return found

    def find(self, org_id: int, name: str) -> EventType | None:
        """The event type named `name`, or None (internal: no permission check)."""
        with self.db.session() as s:
            return _find(s, org_id, name)

    def effective_mode(self, event_type: EventType) -> str:
        """The event type's own mapping mode, else the organization's."""
        return event_type.mapping_mode or self.default_mode(event_type.org_id)

    # ----- the mapping mode --------------------------------------------------------------------
    def default_mode(self, org_id: int) -> str:
        """The organization's default mapping mode (AUTO_MAP unless set)."""
        with self.db.session() as s:
            settings = s.get(PipelineSettings, org_id)
            return settings.mapping_mode if settings is not None else DEFAULT_MODE

    def set_default_mode(self, principal: Principal, mode: str) -> str:
        """Set the organization's default mapping mode (AUTO_MAP, STRICT or FLEXIBLE)."""
        principal.require(Action.MANAGE_SOURCES, "mapping mode")
        mode = _mode(mode, "mode")
        with self.db.session() as s:
            settings_row(s, principal.org_id).mapping_mode = mode
        return mode

    # ----- changing ----------------------------------------------------------------------------
    def set_mapping(self, principal: Principal, name: str, document: dict[str, Any]) -> EventType:
        """Replace the event type's mapping with `document` (creating the type if new)."""
        principal.require(Action.MANAGE_SOURCES, f"event type {name}")
        return self._change(principal.org_id, name, self._mapping_change(document))

    def define(
        self,
        principal: Principal,
        name: str,
        document: dict[str, Any],
        *,
        input_id: int | None,
        consolidation: dict[str, Any],
    ) -> EventType:
        """Make the event type (created if new) what `document` says, as `set_mapping` does, and
        set the input its events come from and its consolidation settings (objects as code)."""
        principal.require(Action.MANAGE_SOURCES, f"event type {name}")
        set_mapping = self._mapping_change(document)
        if not isinstance(consolidation, dict):
            raise InvalidInputError("consolidation", "an object")
        with self.db.session() as s:
            current = _find(s, principal.org_id, name)
            if input_id is not None and (current is None or current.input_id != input_id):
                source = s.get(PipelineInput, input_id)
                if source is None or source.org_id != principal.org_id or source.deleted_at is not None:
                    raise NotFoundError("input", input_id)

        def change(event_type: EventType) -> None:
            set_mapping(event_type)
            event_type.input_id = input_id
            event_type.consolidation = copy.deepcopy(consolidation)

        return self._change(principal.org_id, name, change)

    def _mapping_change(self, document: dict[str, Any]) -> Callable[[EventType], None]:
        """What applying a mapping document does to an event type (the document checked first)."""
        if not isinstance(document, dict):
            raise InvalidInputError("mapping", "an event type object")
        top = document.get("mapping") or {}
        if not isinstance(top, dict):
            raise InvalidInputError("mapping", "an object {isDiscarded, tableName, schema}")
        discarded = _flag(top.get("isDiscarded"))
        table = _text(top.get("tableName"), "mapping.tableName")
        schema = _text(top.get("schema"), "mapping.schema")
        raw_fields = document.get("fields") or []
        if not isinstance(raw_fields, builtins.list):
            raise InvalidInputError("fields", "a list of field objects")
        tree = [_parse_field(f, ()) for f in raw_fields]
        columns = mapped_columns(tree)
        _check_unique_columns(columns)
        if columns and not table and not discarded:
            raise InvalidInputError("mapping.tableName", "a mapped event type needs a table name")
        keep_mode = False
        mode: str | None = None
        if _flag(document.get("usingDefaultMappingMode")):
            mode = None
        elif document.get("mappingMode") is not None:
            mode = _mode(document["mappingMode"], "mappingMode")
        else:
            keep_mode = True

        def change(event_type: EventType) -> None:
            event_type.fields = _carry_over(tree, event_type.fields or [])
            event_type.is_discarded = discarded
            event_type.table_name = table or None
            # The default schema (shown when none is set) is kept as "the default", not by name.
            default = self.default_schema(event_type.org_id)
            event_type.schema_name = None if not schema or schema == default else schema
            event_type.auto_mapping_error = None
            if not keep_mode:
                event_type.mapping_mode = mode

        return change

    def discard(self, principal: Principal, name: str) -> EventType:
        """Discard the event type: its events are dropped (DISCARDED), not loaded nor restreamed."""
        principal.require(Action.MANAGE_SOURCES, f"event type {name}")

        def change(event_type: EventType) -> None:
            event_type.is_discarded = True

        return self._change(principal.org_id, name, change)

    def delete(self, principal: Principal, name: str) -> None:
        """Forget the event type (it comes back, unmapped or auto-mapped, with its next event)."""
        principal.require(Action.MANAGE_SOURCES, f"event type {name}")
        with self.db.session() as s:
            event_type = _find(s, principal.org_id, name)
            if event_type is None:
                raise NotFoundError("event type", name)
            s.delete(event_type)
        for hook in self.on_deleted:
            hook(principal.org_id, name)

    def observe(
        self, org_id: int, name: str, events: Iterable[Any], input_id: int | None = None
    ) -> EventType:
        """Merge the fields of `events` into the event type (created if new); AUTO_MAP maps new ones."""
        seen = _collect_batch([event for event in events if isinstance(event, dict)])
        mode = self.default_mode(org_id)

        def change(event_type: EventType) -> None:
            tree = copy.deepcopy(event_type.fields or [])
            for path, types in seen.items():
                node = _node(tree, path)
                known = set(node.get("types") or [])
                if not types <= known:
                    node["types"] = sorted(known | types)
            effective = event_type.mapping_mode or mode
            if effective == "AUTO_MAP" and not event_type.is_discarded:
                if not event_type.table_name:
                    event_type.table_name = safe_name(name)
                event_type.auto_mapping_error = _auto_map(tree, seen) or event_type.auto_mapping_error
            if tree != event_type.fields:
                event_type.fields = tree
            if input_id is not None and event_type.input_id is None:
                event_type.input_id = input_id

        return self._change(org_id, name, change, input_id=input_id)

    def _change(
        self, org_id: int, name: str, change: Callable[[EventType], None], input_id: int | None = None
    ) -> EventType:
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInputError("name", "an event type name of 1 to 255 characters")
        for attempt in range(2):
            try:
                with self.db.session() as s:
                    event_type = _find(s, org_id, name, lock=True)
                    if event_type is None:
                        event_type = EventType(org_id=org_id, name=name, input_id=input_id, fields=[])
                        s.add(event_type)
                    change(event_type)
                    event_type.state = state_of(event_type)
                    s.flush()
                    return event_type
            except IntegrityError:  # created concurrently: the second attempt finds it
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # ----- the wire document -------------------------------------------------------------------
    def to_document(self, event_type: EventType) -> dict[str, Any]:
        """The event type as the pipeline's clients show it (every field carries `fields`)."""
        label = None
        if event_type.input_id is not None:
            with self.db.session() as s:
                source = s.get(PipelineInput, event_type.input_id)
                label = source.name if source is not None else None
        return {
            "name": event_type.name,
            "origInputLabel": label,
            "state": state_of(event_type),
            "mappingMode": self.effective_mode(event_type),
            "usingDefaultMappingMode": event_type.mapping_mode is None,
            "autoMappingError": event_type.auto_mapping_error,
            "schemaUrls": [],
            "stats": {},
            "consolidation": dict(event_type.consolidation or {}),
            "mapping": {
                "isDiscarded": event_type.is_discarded,
                "tableName": event_type.table_name or "",
                "schema": event_type.schema_name or self.default_schema(event_type.org_id),
                "readOnly": False,
            },
            "fields": [_field_document(node) for node in event_type.fields or []],
        }


# ----- helpers -----------------------------------------------------------------------------------
def _find(s: Session, org_id: int, name: str, *, lock: bool = False) -> EventType | None:
    query = select(EventType).where(EventType.org_id == org_id, EventType.name == name)
    if lock:  # observe and set_mapping rewrite the whole tree: serialize them (PostgreSQL)
        query = query.with_for_update()
    return s.scalars(query).one_or_none()


def _mode(value: Any, field: str) -> str:
    if not isinstance(value, str) or value.strip().upper() not in MODES:
        raise InvalidInputError(field, f"one of {', '.join(MODES)}")
    return value.strip().upper()


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise InvalidInputError(field, "a name of at most 255 characters")
    return value.strip()


def _collect(event: dict[str, Any], path: Path, seen: dict[Path, set[str]]) -> None:
    for key, value in event.items():
        here = (*path, str(key))
        types = seen.setdefault(here, set())
        if isinstance(value, dict):
            _collect(value, here, seen)
        elif value is not None:
            types.add(column_types.value_type(value))


_SCALAR_TYPES: dict[type, str] = {bool: "bool", int: "int64", float: "float64"}


def _collect_batch(events: builtins.list[dict[str, Any]]) -> dict[Path, set[str]]:
    """`_collect` over every event, column by column (the same paths, types and order, faster)."""
    types: dict[Path, set[str]] = {}
    first: dict[Path, int] = {}
    _collect_level(events, builtins.list(range(len(events))), (), types, first)
    # The paths in the order `_collect` meets them event after event: a path comes first in the
    # event where it first appears, so walking those events alone, in order, gives that order.
    ordered: dict[Path, set[str]] = {}
    for index in sorted(set(first.values())):
        _collect(events[index], (), ordered)
    return {path: types[path] for path in ordered}


def _collect_level(
    objects: builtins.list[dict[str, Any]],
    owners: builtins.list[int],
    path: Path,
    types: dict[Path, set[str]],
    first: dict[Path, int],
) -> None:
    """Types of the values under `path` of `objects` (`owners`: the index of each one's event)."""
    columns = _columns(objects, owners, path, first)
    for key, values in columns.items():
        here = (*path, str(key))
        found = types.setdefault(here, set())
        nested = False
        for kind in set(map(type, values)):
            if kind is str:
                for text in {v for v in values if type(v) is str}:
                    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
                        found.add(column_types.value_type(text))
                    else:  # cannot be an ISO date or timestamp
                        found.add("string")
            elif kind in _SCALAR_TYPES:
                found.add(_SCALAR_TYPES[kind])
            elif kind is type(None):
                continue
            elif issubclass(kind, dict):
                nested = True
            else:
                found.update(column_types.value_type(v) for v in values if type(v) is kind)
        if nested:
            pairs = [
                (value, owner)
                for obj, owner in zip(objects, owners, strict=True)
                if key in obj and isinstance(value := obj[key], dict)
            ]
            _collect_level([v for v, _ in pairs], [o for _, o in pairs], here, types, first)


def _columns(
    objects: builtins.list[dict[str, Any]], owners: builtins.list[int], path: Path, first: dict[Path, int]
) -> dict[str, builtins.list[Any]]:
    """The values of each key of `objects`, key by key, recording the first owner of each path.

    Objects are grouped by their keys (events of one source mostly share them), and each group is
    transposed at once (`itemgetter` and `zip` run in C), not value by value.
    """
    shapes: dict[tuple[Any, ...], builtins.list[int]] = {}
    for index, obj in enumerate(objects):
        shape = tuple(obj)
        group = shapes.get(shape)
        if group is None:
            shapes[shape] = [index]
        else:
            group.append(index)
    columns: dict[str, builtins.list[Any]] = {}
    for shape, indices in shapes.items():
        if not shape:
            continue
        owner = owners[indices[0]]  # owners grow with the index: the group's first is its smallest
        for key in shape:
            here = (*path, str(key))
            if here not in first or owner < first[here]:
                first[here] = owner
        members = [objects[i] for i in indices] if len(indices) < len(objects) else objects
        getter = operator.itemgetter(*shape)
        if len(shape) == 1:
            transposed: Iterable[Iterable[Any]] = [map(getter, members)]
        else:
            transposed = zip(*map(getter, members))  # noqa: B905 - every row has len(shape) values
        for key, values in zip(shape, transposed):  # noqa: B905 - one column per key
            column = columns.get(key)
            if column is None:
                columns[key] = builtins.list(values)
            else:
                column.extend(values)
    return columns


def _node(tree: builtins.list[dict[str, Any]], path: Path) -> dict[str, Any]:
    nodes = tree
    node: dict[str, Any] = {}
    for name in path:
        found = next((n for n in nodes if n["fieldName"] == name), None)
        if found is None:
            found = {"fieldName": name, "fields": [], "mapping": None, "types": []}
            nodes.append(found)
        found.setdefault("fields", [])
        node = found
        nodes = found["fields"]
    return node


def _auto_map(tree: builtins.list[dict[str, Any]], seen: dict[Path, set[str]]) -> str | None:
    """Map the new fields that have values; the message of a type conflict, if any."""
    used = {m["columnName"].lower() for _, m in mapped_columns(tree)}
    error = None
    for path, types in seen.items():
        if not types:
            continue
        node = _node(tree, path)
        mapping = node.get("mapping")
        if mapping is None:
            kind = column_types.common_type(types)
            column = _unique("_".join(safe_name(p) for p in path), used)
            length = column_types.MAX_VARCHAR_LENGTH if kind == "string" else None
            node["mapping"] = {
                "columnName": column,
                "columnType": column_types.column_type(kind, length=length),
                "isDiscarded": False,
            }
        elif not mapping.get("isDiscarded"):
            target = column_types.dataset_type(mapping["columnType"])
            misfits = sorted(t for t in types if not column_types.holds(target, t))
            if misfits:
                error = (
                    f"field {'.'.join(path)}: values of type {', '.join(misfits)} do not fit "
                    f"column {mapping['columnName']} ({mapping['columnType'].get('type')})"
                )
    return error


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate.lower())
    return candidate


def _parse_field(raw: Any, path: Path) -> dict[str, Any]:
    where = "fields" + "".join(f".{p}" for p in path)
    if not isinstance(raw, dict) or not isinstance(raw.get("fieldName"), str) or not raw["fieldName"]:
        raise InvalidInputError(where, "a field object with a fieldName")
    here = (*path, raw["fieldName"])
    children = raw.get("fields") or []
    if not isinstance(children, builtins.list):
        raise InvalidInputError(f"{where}.{raw['fieldName']}.fields", "a list of field objects")
    return {
        "fieldName": raw["fieldName"],
        "fields": [_parse_field(child, here) for child in children],
        "mapping": _parse_mapping(raw.get("mapping"), "fields." + ".".join(here) + ".mapping"),
        "types": [],
    }


def _parse_mapping(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInputError(where, "null or an object {columnName, columnType, isDiscarded}")
    if _flag(raw.get("isDiscarded")):
        column_name = raw.get("columnName") or ""
        return {"columnName": column_name, "columnType": raw.get("columnType"), "isDiscarded": True}
    column = raw.get("columnName")
    if not column:
        return None
    if not isinstance(column, str) or len(column) > 127:
        raise InvalidInputError(f"{where}.columnName", "a column name of at most 127 characters")
    kind = column_types.dataset_type(raw.get("columnType"), f"{where}.columnType")  # type: ignore[arg-type]
    raw_type: dict[str, Any] = raw["columnType"]
    shown: dict[str, Any] = {
        "type": raw_type["type"].strip().upper(),
        "nonNull": _flag(raw_type.get("nonNull")),
    }
    if kind == "string":
        length = raw_type.get("length") or column_types.DEFAULT_VARCHAR_LENGTH
        if not isinstance(length, int) or not 0 < length <= column_types.MAX_VARCHAR_LENGTH:
            raise InvalidInputError(f"{where}.columnType.length", "a length of 1 to 65535")
        shown["length"] = length
        shown["truncate"] = _flag(raw_type.get("truncate"))
    mapping: dict[str, Any] = {"columnName": column, "columnType": shown, "isDiscarded": False}
    if raw.get("subFields") is not None:
        mapping["subFields"] = raw["subFields"]
    return mapping


def _check_unique_columns(columns: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    seen: dict[str, Path] = {}
    for path, mapping in columns:
        key = mapping["columnName"].lower()
        if key in seen:
            raise InvalidInputError(
                "fields",
                f"column {mapping['columnName']!r} is mapped by both "
                f"{'.'.join(seen[key])} and {'.'.join(path)}",
            )
        seen[key] = path


def _carry_over(tree: builtins.list[dict[str, Any]], old: Sequence[dict[str, Any]]) -> builtins.list[Any]:
    """The new tree, keeping the types seen and the fields the document left out (unmapped)."""
    by_name = {node["fieldName"]: node for node in tree}
    for previous in old:
        node = by_name.get(previous["fieldName"])
        if node is None:
            node = {"fieldName": previous["fieldName"], "fields": [], "mapping": None, "types": []}
            tree.append(node)
        node["types"] = sorted(set(node.get("types") or []) | set(previous.get("types") or []))
        node["fields"] = _carry_over(node["fields"], previous.get("fields") or [])
    return tree


def _field_document(node: dict[str, Any]) -> dict[str, Any]:
    mapping = node.get("mapping")
    return {
        "fieldName": node["fieldName"],
        "fields": [_field_document(child) for child in node.get("fields") or []],
        "mapping": copy.deepcopy(mapping) if mapping else None,
    }
