"""Objects as code: export objects as documents, plan and import documents (docs/objects-as-code.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from openlytics.api import serializers_assets as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body
from openlytics.core.assets.documents import parse_texts
from openlytics.core.errors import InvalidInputError

router = APIRouter(tags=["assets"])

Format = Literal["JSON", "YAML"]
# A document as an object, or as JSON/YAML text (several YAML documents separated by `---`).
Document = dict[str, Any] | str


class ExportBody(Body):
    guids: list[str] = Field(min_length=1)
    associated: bool = False
    fqn: bool = True
    permissions: bool = False
    format: Format = "YAML"


class PlanBody(Body):
    documents: list[Document]
    create_new: bool = False


class ImportBody(PlanBody):
    partial: bool = False
    validate_only: bool = False


@router.post("/assets/export")
def export_assets(body: ExportBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The documents of the objects named by guid; with `associated`, what they refer to as well."""
    assets = app.assets.export(
        principal, body.guids, associated=body.associated, fqn=body.fqn, permissions=body.permissions
    )
    return ser.exported_objects(assets, body.format)


@router.get("/assets")
def export_all_assets(
    app: App,
    principal: CurrentPrincipal,
    kind: Annotated[list[str] | None, Query()] = None,
    fqn: bool = True,
    permissions: bool = False,
    format: Format = "YAML",
) -> dict[str, Any]:
    """Every object you can read (of the kinds asked), in the order an import applies them."""
    assets = app.assets.export_all(principal, kind or None, fqn=fqn, permissions=permissions)
    return ser.exported_objects(assets, format)


@router.post("/assets/import")
def import_assets(body: ImportBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Update the objects the documents' guids name and create the others; all or nothing unless
    `partial`. 200 with a report saying what failed; `validate_only` applies nothing."""
    documents, sources = _documents(body.documents)
    report = app.assets.import_documents(
        principal,
        documents,
        create_new=body.create_new,
        apply=not body.validate_only,
        partial=body.partial,
    )
    return ser.import_report(report, sources)


@router.post("/assets/plan")
def plan_assets(body: PlanBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """What an import would do with each document (create, update, unchanged, or its error)."""
    documents, sources = _documents(body.documents)
    report = app.assets.import_documents(principal, documents, create_new=body.create_new, apply=False)
    return ser.import_report(report, sources)


def _documents(given: list[Document]) -> tuple[list[dict[str, Any]], list[int]]:
    """The documents to import, texts parsed (a text may hold several), each with its position in
    the request; a text that does not parse makes the request malformed (422)."""
    documents: list[dict[str, Any]] = []
    sources: list[int] = []
    for position, document in enumerate(given):
        if isinstance(document, str):
            try:
                parsed = parse_texts(document)
            except InvalidInputError as error:
                raise InvalidInputError(f"documents[{position}]", error.reason) from None
        else:
            parsed = [document]
        documents.extend(parsed)
        sources.extend([position] * len(parsed))
    return documents, sources
