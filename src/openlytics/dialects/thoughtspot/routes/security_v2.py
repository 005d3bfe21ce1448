"""V2 permissions and metadata search: `security/metadata/fetch-permissions`,
`security/principals/fetch-permissions`, `metadata/search` (JSON bodies, shapes in
docs/dialects/thoughtspot.md).

Types are V2 names (`LIVEBOARD`, `ANSWER`, `LOGICAL_TABLE`, `CONNECTION`, ...) or the V1 ones;
identifiers are GUIDs or names.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.dialects.thoughtspot import wire_metadata as meta
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V2
from openlytics.dialects.thoughtspot.routes.catalog import (
    SHARING_KINDS,
    Catalog,
    Item,
    name_matcher,
    object_type,
)
from openlytics.dialects.thoughtspot.routes.common import Body
from openlytics.dialects.thoughtspot.routes.security import permissions_of

router = APIRouter()
KIND_TYPES = {kind: ts_type for ts_type, kind in SHARING_KINDS.items()}


@router.post(f"{V2}/security/metadata/fetch-permissions")
def fetch_metadata_permissions(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """Who reaches each object of `metadata`: `{"metadata_permission_details": {GUID: {...}}}`."""
    catalog = Catalog(app_of(request), caller)
    which = str(body.get("permission_type") or "EFFECTIVE").strip().upper()
    if which not in ("EFFECTIVE", "DEFINED"):
        raise InvalidInputError("permission_type", "EFFECTIVE or DEFINED")
    wanted_principals = {catalog.principal(p) for p in _identifiers(body, "principals", required=False)}
    details: dict[str, Any] = {}
    for item in _metadata(catalog, body.get("metadata"), "metadata"):
        granted = permissions_of(catalog, item, which)
        names = catalog.principal_guids()
        by_type: dict[str, list[dict[str, Any]]] = {meta.USER: [], meta.GROUP: []}
        for ref, (guid, ptype, name) in sorted(names.items()):
            if guid not in granted or (wanted_principals and ref not in wanted_principals):
                continue
            by_type[ptype].append(
                {
                    "principal_id": guid,
                    "principal_name": name,
                    "principal_type": ptype,
                    "principal_sub_type": "LOCAL_USER" if ptype == meta.USER else "LOCAL_GROUP",
                    "permission": granted[guid]["shareMode"],
                }
            )
        details[item.guid] = {
            "metadata_id": item.guid,
            "metadata_name": item.header["name"],
            "metadata_type": meta.V2_NAMES.get(item.type, item.type),
            "metadata_owner": {"id": item.header["owner"], "name": item.header["name"]},
            "metadata_author": {"id": item.header["author"], "name": item.header["authorName"]},
            "principal_permission_info": [
                {"principal_type": ptype, "principal_permissions": found} for ptype, found in by_type.items()
            ],
        }
    return {"metadata_permission_details": details, "dependent_permission_details": {}}


@router.post(f"{V2}/security/principals/fetch-permissions")
def fetch_principal_permissions(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """What each user or group of `principals` reaches through shares (theirs and their groups')."""
    catalog = Catalog(app_of(request), caller)
    only = (
        {(i.type, i.id) for i in _metadata(catalog, body.get("metadata"), "metadata")}
        if body.get("metadata")
        else None
    )
    names = catalog.principal_guids()
    answer = []
    for identifier in _identifiers(body, "principals", required=True):
        ref = catalog.principal(identifier)
        reached = catalog.app.sharing.shared_with(caller, ref)
        by_type: dict[str, list[dict[str, Any]]] = {}
        items = _items_by_kind(catalog, {kind for kind, _, _ in reached})
        for kind, object_id, mode in reached:
            item = items.get((kind, object_id))
            if item is None or (only is not None and (item.type, item.id) not in only):
                continue
            v2_type = meta.V2_NAMES.get(item.type, item.type)
            by_type.setdefault(v2_type, []).append(
                {
                    "metadata_id": item.guid,
                    "metadata_name": item.header["name"],
                    "metadata_type": v2_type,
                    "permission": mode,
                }
            )
        guid, ptype, name = names[ref]
        answer.append(
            {
                "principal_id": guid,
                "principal_name": name,
                "principal_type": ptype,
                "principal_sub_type": "LOCAL_USER" if ptype == meta.USER else "LOCAL_GROUP",
                "metadata_permission_info": [
                    {"metadata_type": t, "metadata_permissions": found}
                    for t, found in sorted(by_type.items())
                ],
            }
        )
    return {"principal_permission_details": answer}


@router.post(f"{V2}/metadata/search")
def metadata_search(request: Request, caller: Caller, body: Body) -> list[dict[str, Any]]:
    """`metadata` `[{"type", "identifier"?, "name_pattern"?}]` -> headers, paged by record_offset/size."""
    catalog = Catalog(app_of(request), caller)
    requests = body.get("metadata") or [{"type": t} for t in ("LIVEBOARD", "ANSWER", "LOGICAL_TABLE")]
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise InvalidInputError("metadata", 'a list such as [{"type": "LIVEBOARD"}]')
    found: list[Item] = []
    for wanted in requests:
        kind, subtypes = object_type(wanted.get("type"), "metadata.type")
        items = catalog.items(kind, subtypes=subtypes)
        if wanted.get("identifier"):
            ident = str(wanted["identifier"]).strip().lower()
            items = [i for i in items if ident in (i.guid, str(i.header["name"]).lower())]
        pattern = str(wanted.get("name_pattern") or "").strip()
        if pattern:
            matches = name_matcher(pattern)
            items = [i for i in items if matches(str(i.header["name"]))]
        found.extend(items)
    offset = _int(body.get("record_offset", 0), "record_offset")
    size = _int(body.get("record_size", 10), "record_size")
    page = found[offset:] if size < 0 else found[offset : offset + size]
    return [
        {
            "metadata_id": i.guid,
            "metadata_name": i.header["name"],
            "metadata_type": meta.V2_NAMES.get(i.type, i.type),
            "metadata_header": i.header,
        }
        for i in page
    ]


# ----- helpers ----------------------------------------------------------------------------------
def _identifiers(body: dict[str, Any], field: str, *, required: bool) -> list[str]:
    value = body.get(field)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not value:
        raise InvalidInputError(field, 'a list such as [{"identifier": "<GUID or name>"}]')
    found = []
    for entry in value:
        ident = entry.get("identifier") if isinstance(entry, dict) else entry
        if not isinstance(ident, str) or not ident.strip():
            raise InvalidInputError(field, "each entry needs an identifier")
        found.append(ident)
    return found


def _metadata(catalog: Catalog, value: Any, field: str) -> list[Item]:
    """`[{"type"?, "identifier"}]` -> the objects; without a type every shareable type is searched."""
    if not isinstance(value, list) or not value:
        raise InvalidInputError(field, 'a list such as [{"type": "LIVEBOARD", "identifier": "<GUID>"}]')
    found = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("identifier"), str):
            raise InvalidInputError(field, "each entry needs an identifier")
        ident = entry["identifier"].strip().lower()
        kinds = [object_type(entry["type"], f"{field}.type")[0]] if entry.get("type") else list(SHARING_KINDS)
        match = None
        for kind in kinds:
            if kind not in SHARING_KINDS:
                raise InvalidInputError(f"{field}.type", "a type that can be shared")
            items = catalog.items(kind, hidden=True)
            match = next((i for i in items if ident in (i.guid, str(i.header["name"]).lower())), None)
            if match is not None:
                break
        if match is None:
            raise NotFoundError("metadata", entry["identifier"])
        found.append(match)
    return found


def _items_by_kind(catalog: Catalog, kinds: set[str]) -> dict[tuple[str, int], Item]:
    found: dict[tuple[str, int], Item] = {}
    for kind in kinds:
        if kind == "visualization":
            continue  # a shared visualization is reported through its liveboard (V1 shareviz)
        for item in catalog.items(KIND_TYPES[kind], hidden=True):
            found[(kind, item.id)] = item
    return found


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(field, "a whole number")
    return max(value, -1)
