"""V1 security: share objects and visualizations, read defined/effective permissions, bulk access.

Principals are user or group GUIDs of the caller's organization (another organization's are
unknown: 404, nothing changed). `dependentshare` is accepted and ignored: sharing an object does
not share what it depends on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.governance.sharing import MODES
from openlytics.dialects.thoughtspot import wire_metadata as meta
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V1
from openlytics.dialects.thoughtspot.forms import Form, json_strings, json_value, text
from openlytics.dialects.thoughtspot.routes.catalog import SHARING_KINDS, Catalog, Item, object_type

router = APIRouter()
PERMISSION_TYPES = ("EFFECTIVE", "DEFINED")


@router.post(f"{V1}/security/share")
def security_share(request: Request, caller: Caller, form: Form) -> Response:
    """Share objects of one type: `permission` = `{"permissions": {principal GUID: {"shareMode"}}}`."""
    catalog = Catalog(app_of(request), caller)
    kind = _shareable(form.get("type"))
    items = catalog.find(kind, json_strings(form.get("id"), "id", required=True))
    grants = {catalog.principal(guid): mode for guid, mode in _permissions(form).items()}
    catalog.app.sharing.share(caller, SHARING_KINDS[kind], [i.id for i in items], grants)
    return Response(status_code=204)


@router.post(f"{V1}/security/shareviz")
def security_shareviz(request: Request, caller: Caller, form: Form) -> Response:
    """Share one visualization of a liveboard with the principals of `principalids` (READ_ONLY)."""
    catalog = Catalog(app_of(request), caller)
    if _shareable(form.get("type") or meta.LIVEBOARD) != meta.LIVEBOARD:
        raise InvalidInputError("type", "PINBOARD_ANSWER_BOOK")
    (board,) = catalog.find(meta.LIVEBOARD, [text(form, "pinboardId")])
    viz_guid = text(form, "vizid").strip().lower()
    detail = catalog.app.dashboards.get(caller, board.id)
    shown = [p.visualization for p in detail.widgets if p.visualization is not None]
    viz = next((v for v in shown if str(v.uuid) == viz_guid), None)
    if viz is None:
        raise NotFoundError("visualization", viz_guid)
    principals = json_strings(form.get("principalids"), "principalids", required=True)
    grants = {catalog.principal(guid): "READ_ONLY" for guid in principals}
    catalog.app.sharing.share(caller, "visualization", [viz.id], grants)
    return Response(status_code=204)


@router.get(f"{V1}/security/metadata/permissions")
def security_metadata_permissions(request: Request, caller: Caller) -> dict[str, Any]:
    """`{object GUID: {"permissions": {principal GUID: {"shareMode"}}}}` for each GUID of `id`."""
    params = request.query_params
    catalog = Catalog(app_of(request), caller)
    kind = _shareable(params.get("type"))
    items = catalog.find(kind, json_strings(params.get("id"), "id", required=True))
    which = _permission_type(params.get("permissiontype"))
    return {item.guid: {"permissions": permissions_of(catalog, item, which)} for item in items}


@router.get(f"{V1}/security/metadata/{{object_guid}}/permissions")
def security_metadata_permissions_by_id(object_guid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """`{"permissions": {principal GUID: {"shareMode"}}}` of one object."""
    params = request.query_params
    catalog = Catalog(app_of(request), caller)
    (item,) = catalog.find(_shareable(params.get("type")), [object_guid])
    return {"permissions": permissions_of(catalog, item, _permission_type(params.get("permissiontype")))}


@router.post(f"{V1}/security/effectivepermissionbulk")
def security_effectivepermissionbulk(request: Request, caller: Caller, form: Form) -> dict[str, Any]:
    """The caller's access: `idsbytype` `{type: [GUID]}` -> `{type: {GUID: {"shareMode"}}}`."""
    wanted = json_value(text(form, "idsbytype"), "idsbytype")
    if not isinstance(wanted, dict) or not all(
        isinstance(v, list) and all(isinstance(g, str) for g in v) for v in wanted.values()
    ):
        raise InvalidInputError("idsbytype", 'a JSON object such as {"PINBOARD_ANSWER_BOOK": ["guid"]}')
    catalog = Catalog(app_of(request), caller)
    answer: dict[str, Any] = {}
    for name, guids in wanted.items():
        kind, _ = object_type(name, "idsbytype")
        known = {i.guid: i for i in catalog.items(kind, hidden=True)}
        found = {g: known[g.strip().lower()] for g in guids if g.strip().lower() in known}
        modes: dict[int, str] = {}
        if kind in SHARING_KINDS:
            modes = catalog.app.sharing.bulk_access(
                caller, {SHARING_KINDS[kind]: [i.id for i in found.values()]}
            )[SHARING_KINDS[kind]]
        answer[name] = {
            g: {"shareMode": modes.get(found[g].id, "READ_ONLY") if g in found else "NO_ACCESS"}
            for g in guids
        }
    return answer


# ----- helpers ----------------------------------------------------------------------------------
def permissions_of(catalog: Catalog, item: Item, which: str) -> dict[str, Any]:
    """{principal GUID: {"shareMode", "principalType"}} of one object, defined or effective."""
    kind = SHARING_KINDS[item.type]
    sharing = catalog.app.sharing
    found = (sharing.defined if which == "DEFINED" else sharing.effective)(catalog.caller, kind, item.id)
    names = catalog.principal_guids()
    return {
        names[ref][0]: {"shareMode": mode, "principalType": names[ref][1]}
        for ref, mode in sorted(found.items())
        if ref in names
    }


def _shareable(value: str | None) -> str:
    kind, _ = object_type(value)
    if kind not in SHARING_KINDS:
        raise InvalidInputError("type", f"a type that can be shared: {', '.join(SHARING_KINDS)}")
    return kind


def _permission_type(value: str | None) -> str:
    which = (value or "EFFECTIVE").strip().upper()
    if which not in PERMISSION_TYPES:
        raise InvalidInputError("permissiontype", "EFFECTIVE or DEFINED")
    return which


def _permissions(form: dict[str, str]) -> dict[str, str]:
    """`permission` -> {principal GUID: mode}."""
    value = json_value(text(form, "permission"), "permission")
    grants = value.get("permissions") if isinstance(value, dict) else None
    if not isinstance(grants, dict) or not grants:
        raise InvalidInputError(
            "permission", '{"permissions": {"<principal GUID>": {"shareMode": "READ_ONLY"}}}'
        )
    found: dict[str, str] = {}
    for guid, grant in grants.items():
        mode = grant.get("shareMode") if isinstance(grant, dict) else None
        if not isinstance(mode, str) or mode.strip().upper() not in MODES:
            raise InvalidInputError("permission", f"shareMode of {guid}: one of {', '.join(MODES)}")
        found[guid] = mode.strip().upper()
    return found
