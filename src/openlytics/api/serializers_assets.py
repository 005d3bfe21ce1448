"""Exported objects and import reports to the JSON shapes of docs/api.md ("Objects as code")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openlytics.core.assets.documents import Format, render
from openlytics.core.assets.service import ExportedAsset, ImportItem, ImportReport


def exported(asset: ExportedAsset, fmt: Format) -> dict[str, Any]:
    """ExportedObject: the document as an object and as text in the format asked."""
    return {
        "kind": asset.kind,
        "guid": str(asset.guid),
        "name": asset.name,
        "document": asset.document,
        "text": render(asset.document, fmt),
    }


def exported_objects(assets: Sequence[ExportedAsset], fmt: Format) -> dict[str, Any]:
    """`{"objects": [ExportedObject]}`."""
    return {"objects": [exported(a, fmt) for a in assets]}


def import_item(item: ImportItem, source: int) -> dict[str, Any]:
    """ImportItem; `source` is the position in the request's `documents` the document came from."""
    error = None
    if item.error is not None:
        error = {"code": item.error.code, "message": item.error.message, "details": item.error.details}
    return {
        "index": item.index,
        "source": source,
        "kind": item.kind,
        "name": item.name,
        "guid": str(item.guid) if item.guid is not None else None,
        "action": item.action,
        "changes": list(item.changes),
        "status": "OK" if item.ok else "ERROR",
        "error": error,
    }


def import_report(report: ImportReport, sources: Sequence[int]) -> dict[str, Any]:
    """ImportReport: whether anything was committed, whether every document succeeded, and each item."""
    return {
        "applied": report.applied,
        "ok": report.ok,
        "items": [import_item(item, sources[item.index]) for item in report.items],
    }
