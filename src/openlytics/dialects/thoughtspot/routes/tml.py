"""TML export and import: V1 `metadata/tml/export|import` (form fields) and V2 the same paths
(JSON bodies), over the core's objects as code (`app.assets`, docs/objects-as-code.md).

Export answers JSON whatever `Accept` says (the V1 client sends `text/plain`, Q8). An object the
caller cannot read is an element with status ERROR (the V1 client raises SyntaxError), as the
product answers it. Import: `ALL_OR_NONE` commits nothing unless every document succeeds,
`PARTIAL` commits those that do, `VALIDATE_ONLY` never writes; `force_create` / `create_new` makes
copies with new GUIDs. A document that cannot be read or applied is its element's ERROR.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.assets.documents import Format, parse_text
from openlytics.core.assets.service import ImportItem
from openlytics.core.errors import InvalidInputError, NotFoundError, OpenlyticsError
from openlytics.core.principal import Principal
from openlytics.dialects.thoughtspot import wire_tml as tml
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import V1, V2
from openlytics.dialects.thoughtspot.forms import Form, flag, json_strings, python_list
from openlytics.dialects.thoughtspot.routes.catalog import SHARING_KINDS, Catalog, object_type
from openlytics.dialects.thoughtspot.routes.common import Body

router = APIRouter()
POLICIES = ("ALL_OR_NONE", "VALIDATE_ONLY", "PARTIAL")


@router.post(f"{V1}/metadata/tml/export")
def metadata_tml_export(request: Request, caller: Caller, form: Form) -> dict[str, Any]:
    """`{"object": [{"info", "edoc"}]}`: each object of `export_ids`, then (with
    `export_associated`) what it refers to."""
    wanted = [
        (guid, tuple(SHARING_KINDS))
        for guid in json_strings(form.get("export_ids"), "export_ids", required=True)
    ]
    objects = _export(
        app_of(request),
        caller,
        wanted,
        fmt=_format(form.get("formattype"), "formattype"),
        associated=flag(form.get("export_associated"), "export_associated", False),
        fqn=flag(form.get("export_fqn"), "export_fqn", False),
        v2=False,
    )
    return {"object": objects}


@router.post(f"{V1}/metadata/tml/import")
def metadata_tml_import(request: Request, caller: Caller, form: Form) -> dict[str, Any]:
    """`{"object": [{"response": {"status", "header"}}]}`, one per document of `import_objects`
    (a Python list literal of TML texts, Q1), in order."""
    documents = python_list(form.get("import_objects"), "import_objects")
    objects = _import(
        app_of(request),
        caller,
        documents,
        field="import_objects",
        policy=_policy(form.get("import_policy"), "import_policy", "ALL_OR_NONE"),
        create_new=flag(form.get("force_create"), "force_create", False),
        v2=False,
    )
    return {"object": objects}


@router.post(f"{V2}/metadata/tml/export")
def metadata_tml_export_v2(request: Request, caller: Caller, body: Body) -> list[dict[str, Any]]:
    """`[{"info", "edoc"}]` for `metadata` `[{"identifier": GUID or name, "type"?}]`."""
    entries = body.get("metadata")
    if not isinstance(entries, list) or not entries:
        raise InvalidInputError("metadata", 'a list such as [{"identifier": "<GUID or name>"}]')
    wanted = []
    for entry in entries:
        ident = entry.get("identifier") if isinstance(entry, dict) else None
        if not isinstance(ident, str) or not ident.strip():
            raise InvalidInputError("metadata", "each entry needs an identifier")
        kind = entry.get("type")
        types = (object_type(kind, "metadata.type")[0],) if kind else tuple(SHARING_KINDS)
        wanted.append((ident, types))
    return _export(
        app_of(request),
        caller,
        wanted,
        fmt=_format(body.get("edoc_format"), "edoc_format"),
        associated=_boolean(body, "export_associated", False),
        fqn=_boolean(body, "export_fqn", False),
        v2=True,
    )


@router.post(f"{V2}/metadata/tml/import")
def metadata_tml_import_v2(request: Request, caller: Caller, body: Body) -> list[dict[str, Any]]:
    """`[{"response": {"status", "header"}}]`, one per text of `metadata_tmls`, in order."""
    documents = body.get("metadata_tmls")
    if not isinstance(documents, list):
        raise InvalidInputError("metadata_tmls", "a list of TML documents (JSON or YAML text)")
    return _import(
        app_of(request),
        caller,
        documents,
        field="metadata_tmls",
        policy=_policy(body.get("import_policy"), "import_policy", "PARTIAL"),
        create_new=_boolean(body, "create_new", False),
        v2=True,
    )


# ----- translation --------------------------------------------------------------------------------
def _export(
    app: Openlytics,
    caller: Principal,
    wanted: Sequence[tuple[str, tuple[str, ...]]],
    *,
    fmt: Format,
    associated: bool,
    fqn: bool,
    v2: bool,
) -> list[dict[str, Any]]:
    """Each object asked for (GUID or name, and the types a name is looked up in), each exported
    object once."""
    catalog = Catalog(app, caller)
    objects: list[dict[str, Any]] = []
    seen: set[UUID] = set()
    for identifier, types in wanted:
        try:
            assets = app.assets.export(
                caller, [_guid(catalog, identifier, types)], associated=associated, fqn=fqn
            )
        except OpenlyticsError as error:
            objects.append(tml.export_failed(identifier, error.message))
            continue
        for asset in assets:
            if asset.guid not in seen:
                seen.add(asset.guid)
                objects.append(tml.exported(asset, fmt, v2=v2))
    return objects


def _import(
    app: Openlytics,
    caller: Principal,
    texts: list[Any],
    *,
    field: str,
    policy: str,
    create_new: bool,
    v2: bool,
) -> list[dict[str, Any]]:
    if not texts:
        raise InvalidInputError(field, "at least one TML document")
    documents: list[Any] = []
    unreadable: dict[int, InvalidInputError] = {}
    for index, text in enumerate(texts):
        try:
            documents.append(tml.from_tml(parse_text(text) if isinstance(text, str) else text))
        except InvalidInputError as error:
            # The core refuses the text as a document (so all-or-nothing holds); the reason is ours.
            unreadable[index] = InvalidInputError(f"{field}[{index}]", error.message)
            documents.append(text)
    report = app.assets.import_documents(
        caller,
        documents,
        create_new=create_new,
        apply=policy != "VALIDATE_ONLY",
        partial=policy == "PARTIAL",
    )
    for index, reason in unreadable.items():
        report.items[index].error = reason
    owners = _owners(Catalog(app, caller), report.items)
    return [tml.imported(item, owners.get(item.index, {}), v2=v2) for item in report.items]


def _guid(catalog: Catalog, identifier: str, types: Iterable[str]) -> str:
    """A GUID as given; a name -> the GUID of the first object of these types so named."""
    value = identifier.strip()
    try:
        return str(UUID(value))
    except ValueError:
        pass
    for kind in types:
        for item in catalog.items(kind, hidden=True):
            if str(item.header.get("name", "")).lower() == value.lower():
                return item.guid
    raise NotFoundError("object", identifier)


def _owners(catalog: Catalog, items: Sequence[ImportItem]) -> dict[int, dict[str, str]]:
    """The description and author of each object imported (the importer's when not found)."""
    me = catalog.user(catalog.caller.user_id)
    mine = str(me.uuid) if me is not None else ""
    owners = {}
    for item in items:
        header: dict[str, Any] = {}
        if item.ok and item.kind in tml.V1_TYPES and item.guid is not None:
            try:  # read one by one, not the whole type; not there under VALIDATE_ONLY
                header = catalog.find(tml.V1_TYPES[item.kind], [str(item.guid)])[0].header
            except NotFoundError:
                header = {}
        author = str(header.get("author") or mine)
        owners[item.index] = {
            "description": str(header.get("description") or ""),
            "author": author,
            "owner": author,
        }
    return owners


def _format(value: Any, field: str) -> Format:
    name = str(value or "JSON").strip().upper()
    if name not in tml.FORMATS:
        raise InvalidInputError(field, f"JSON or YAML, not {value!r}")
    return tml.FORMATS[name]


def _policy(value: Any, field: str, default: str) -> str:
    name = str(value or default).strip().upper()
    if name not in POLICIES:
        raise InvalidInputError(field, f"one of {', '.join(POLICIES)}, not {value!r}")
    return name


def _boolean(body: dict[str, Any], field: str, default: bool) -> bool:
    value = body.get(field)
    if value is None or isinstance(value, bool):
        return default if value is None else value
    if isinstance(value, str):
        return flag(value, field, default)
    raise InvalidInputError(field, "true or false")
