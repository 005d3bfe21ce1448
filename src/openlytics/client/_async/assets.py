"""Objects as code: export objects as documents, plan and import documents (docs/objects-as-code.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from openlytics.client._documents import DocumentSource, request_documents
from openlytics.client.models import ExportedObject, ImportReport

from .http import AsyncHTTP


class AsyncAssets:
    """`client.assets`: every kind of object (data sources, queries, dashboards, ...) as YAML or JSON
    documents that can be kept in version control and imported into this server or another one."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def export(
        self,
        guids: Sequence[str],
        *,
        associated: bool = False,
        fqn: bool = True,
        permissions: bool = False,
        format: str = "YAML",
    ) -> list[ExportedObject]:
        """The documents of the objects named by guid (a visualization's guid exports its query);
        `associated` adds what they refer to, `fqn=False` leaves guids out of references,
        `permissions` adds their shares; `format` ("YAML" or "JSON") is that of each `text`."""
        body = {
            "guids": [str(guid) for guid in guids],
            "associated": associated,
            "fqn": fqn,
            "permissions": permissions,
            "format": format.upper(),
        }
        answer = await self._http.request("POST", "/assets/export", json=body)
        return [ExportedObject.from_json(item) for item in answer.get("objects") or []]

    async def export_all(
        self,
        kinds: Iterable[str] | None = None,
        *,
        fqn: bool = True,
        permissions: bool = False,
        format: str = "YAML",
    ) -> list[ExportedObject]:
        """Every object you can read, of the `kinds` given (all by default), in import order."""
        params: dict[str, Any] = {
            "kind": list(kinds) if kinds is not None else None,
            "fqn": fqn,
            "permissions": permissions,
            "format": format.upper(),
        }
        answer = await self._http.request("GET", "/assets", params=params)
        return [ExportedObject.from_json(item) for item in answer.get("objects") or []]

    async def import_(
        self,
        documents: Iterable[DocumentSource],
        *,
        create_new: bool = False,
        partial: bool = False,
        validate_only: bool = False,
    ) -> ImportReport:
        """Import documents (objects, JSON/YAML text, or paths of files and directories): update the
        objects their guids name, create the others. All or nothing unless `partial`; `create_new`
        always creates (new guids); `validate_only` applies nothing. Failed documents are in the
        report, not raised."""
        body = {
            "documents": request_documents(documents),
            "create_new": create_new,
            "partial": partial,
            "validate_only": validate_only,
        }
        return ImportReport.from_json(await self._http.request("POST", "/assets/import", json=body))

    async def plan(self, documents: Iterable[DocumentSource], *, create_new: bool = False) -> ImportReport:
        """What importing the documents would do (create, update or unchanged, the fields that change,
        or the error), without applying anything."""
        body = {"documents": request_documents(documents), "create_new": create_new}
        return ImportReport.from_json(await self._http.request("POST", "/assets/plan", json=body))
