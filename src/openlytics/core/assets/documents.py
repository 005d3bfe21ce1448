"""Object documents: the objects-as-code format (docs/objects-as-code.md).

A document is a mapping with the object's `guid` and exactly one key naming its kind, whose value
is the object's body::

    guid: 6f1c...
    query:
      name: Revenue by region
      data_source: {name: warehouse, fqn: 0b9e...}
      sql: SELECT ...

A reference to another object is `{"name": ..., "fqn": <guid>}` (`fqn` only when exported with
fully-qualified references); an importer resolves the guid first, then the name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal
from uuid import UUID

import yaml

from openlytics.core.errors import InvalidInputError

Format = Literal["JSON", "YAML"]

# Every kind a document may hold, in the order an import applies them (a kind only refers to
# kinds before it).
KIND_ORDER = (
    "data_source",
    "code_module",
    "script",
    "query",
    "dataset",
    "pipeline_input",
    "event_type",
    "dashboard",
    "alert",
    "schedule",
)
KINDS = frozenset(KIND_ORDER)


class ParsedDocument:
    """One document of an import, split into its parts."""

    __slots__ = ("body", "guid", "index", "kind")

    def __init__(self, index: int, kind: str, guid: UUID | None, body: dict[str, Any]) -> None:
        self.index = index
        self.kind = kind
        self.guid = guid
        self.body = body

    @property
    def name(self) -> str:
        """The object's name as the document gives it."""
        name = self.body.get("name")
        return name if isinstance(name, str) else ""


def parse_text(text: str) -> dict[str, Any]:
    """A document from JSON or YAML text (JSON first), as the user wrote it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("document", "an empty document")
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise InvalidInputError("document", f"neither JSON nor YAML: {error}") from None
    if not isinstance(value, dict):
        raise InvalidInputError("document", "a document is a mapping with a guid and one kind")
    return value


def parse_texts(text: str) -> list[dict[str, Any]]:
    """Every document of a file: a JSON document or list, or YAML documents separated by `---`."""
    stripped = text.strip() if isinstance(text, str) else ""
    if not stripped:
        raise InvalidInputError("documents", "the file holds no document")
    try:
        value = json.loads(stripped)
        values = value if isinstance(value, list) else [value]
    except ValueError:
        try:
            values = [v for v in yaml.safe_load_all(stripped) if v is not None]
        except yaml.YAMLError as error:
            raise InvalidInputError("documents", f"neither JSON nor YAML: {error}") from None
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
    for position, value in enumerate(values):
        if not isinstance(value, dict):
            raise InvalidInputError(f"documents[{position}]", "a document is a mapping")
    return values


def render(document: Mapping[str, Any], fmt: Format = "YAML") -> str:
    """A document as text: YAML (block style, keys in document order) or indented JSON."""
    if fmt == "JSON":
        return json.dumps(document, indent=2, default=str)
    if fmt == "YAML":
        return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False)
    raise InvalidInputError("format", "JSON or YAML")


def split(index: int, document: Any) -> ParsedDocument:
    """The kind, guid and body of a document; InvalidInputError names what is wrong."""
    where = f"documents[{index}]"
    if not isinstance(document, Mapping):
        raise InvalidInputError(where, "a document is a mapping with a guid and one kind")
    kinds = [key for key in document if key != "guid"]
    if len(kinds) != 1 or kinds[0] not in KINDS:
        known = ", ".join(KIND_ORDER)
        raise InvalidInputError(where, f"one kind key expected ({known}); found {sorted(map(str, kinds))}")
    kind = kinds[0]
    body = document[kind]
    if not isinstance(body, Mapping):
        raise InvalidInputError(f"{where}.{kind}", "the object's fields, as a mapping")
    return ParsedDocument(index, kind, guid_of(document.get("guid"), f"{where}.guid"), dict(body))


def guid_of(value: Any, field: str) -> UUID | None:
    """A guid as a UUID (None when absent); InvalidInputError when it is not one."""
    if value is None or value == "":
        return None
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInputError(field, f"{value!r} is not a guid") from None


def reference(name: str, guid: UUID | str, *, fqn: bool, **extra: Any) -> dict[str, Any]:
    """A reference to another object: its name (and extra identifying fields), plus `fqn` (its
    guid) when exporting fully-qualified references."""
    ref: dict[str, Any] = {**extra, "name": name}
    if fqn:
        ref["fqn"] = str(guid)
    return ref


def without_fqn(value: Any) -> Any:
    """A body with every `fqn` and nested `guid` left out: what two servers can compare."""
    if isinstance(value, Mapping):
        return {k: without_fqn(v) for k, v in value.items() if k not in ("fqn", "guid")}
    if isinstance(value, list):
        return [without_fqn(v) for v in value]
    return value
