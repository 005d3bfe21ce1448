"""TML as ThoughtSpot shows it: objects-as-code documents under the vendor's words.

A TML document is the core's document (docs/objects-as-code.md) with its kind key in
ThoughtSpot's word: `liveboard` (dashboard), `answer` (query), `table` (dataset), `connection`
(data source); other kinds keep the core's name. An import accepts either word. Export answers
`{"info": {name, id, type, filename, status}, "edoc": text}` per object, import
`{"response": {"status", "header"}}` per document (shapes in docs/dialects/thoughtspot.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openlytics.core.assets.documents import Format, render
from openlytics.core.assets.service import ExportedAsset, ImportItem
from openlytics.dialects.thoughtspot import wire_metadata as meta

#: The core kind -> ThoughtSpot's TML word.
TML_WORDS = {"dashboard": "liveboard", "query": "answer", "dataset": "table", "data_source": "connection"}
CORE_KINDS = {word: kind for kind, word in TML_WORDS.items()}
#: The core kind -> the V1 metadata type (other kinds: the kind's name in capitals).
V1_TYPES = {
    "dashboard": meta.LIVEBOARD,
    "query": meta.ANSWER,
    "dataset": meta.TABLE,
    "data_source": meta.DATA_SOURCE,
}
FORMATS: dict[str, Format] = {"JSON": "JSON", "YAML": "YAML"}


def tml_word(kind: str) -> str:
    """The key naming a kind in TML."""
    return TML_WORDS.get(kind, kind)


def metadata_type(kind: str | None, *, v2: bool) -> str:
    """The vendor type of a kind: V1 (`PINBOARD_ANSWER_BOOK`) or V2 (`LIVEBOARD`) names."""
    if kind is None:
        return ""
    v1 = V1_TYPES.get(kind, kind.upper())
    return meta.V2_NAMES.get(v1, v1) if v2 else v1


def to_tml(document: Mapping[str, Any]) -> dict[str, Any]:
    """A core document with its kind key in ThoughtSpot's word."""
    return {(key if key == "guid" else tml_word(key)): value for key, value in document.items()}


def from_tml(document: Any) -> Any:
    """A TML document with its kind key in the core's word (anything else is left for the core
    to refuse)."""
    if not isinstance(document, Mapping):
        return document
    return {CORE_KINDS.get(key, key) if isinstance(key, str) else key: v for key, v in document.items()}


# ----- export ---------------------------------------------------------------------------------------
def exported(asset: ExportedAsset, fmt: Format, *, v2: bool) -> dict[str, Any]:
    """One exported object: its info and its TML text (`edoc`)."""
    word = tml_word(asset.kind)
    return {
        "info": {
            "name": asset.name,
            "id": str(asset.guid),
            "type": metadata_type(asset.kind, v2=v2),
            "filename": f"{asset.name}.{word}.tml",
            "status": {"status_code": "OK"},
        },
        "edoc": render(to_tml(asset.document), fmt),
    }


def export_failed(identifier: str, message: str) -> dict[str, Any]:
    """An object that could not be exported (unknown, or not readable by the caller)."""
    return {
        "info": {
            "name": identifier,
            "id": identifier,
            "status": {"status_code": "ERROR", "error_message": message},
        }
    }


# ----- import ---------------------------------------------------------------------------------------
def imported(item: ImportItem, owner: Mapping[str, str], *, v2: bool) -> dict[str, Any]:
    """One document's outcome; `owner` gives the object's `description`, `author` and `owner`."""
    if item.error is not None:
        status = {"status_code": "ERROR", "error_message": item.error.message}
        return {"response": {"status": status}}
    return {
        "response": {
            "status": {"status_code": "OK"},
            "header": {
                "id_guid": str(item.guid) if item.guid is not None else None,
                "name": item.name,
                "description": owner.get("description", ""),
                "metadata_type": metadata_type(item.kind, v2=v2),
                "author_guid": owner.get("author", ""),
                "owner_guid": owner.get("owner", ""),
                "generation_num": 0,
            },
        }
    }
