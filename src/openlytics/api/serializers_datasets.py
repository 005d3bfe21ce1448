"""Datasets, their versions, write results and background tasks as the JSON of docs/api.md."""

from __future__ import annotations

from typing import Any

from openlytics.api.serializers import iso
from openlytics.core.datasets.rebuilds import RebuildOutcome
from openlytics.core.datasets.writes import WriteResult
from openlytics.store.models import BackgroundTask, Dataset, DatasetVersion


def dataset(d: Dataset) -> dict[str, Any]:
    """Dataset."""
    return {
        "id": d.id,
        "uuid": str(d.uuid),
        "name": d.name,
        "description": d.description,
        "columns": d.columns,
        "primary_key": d.primary_key,
        "row_count": d.row_count,
        "version": d.version,
        "options": d.options,
        "data_source_id": d.data_source_id,
        "source_query_id": d.source_query_id,
        "refreshable": d.source_query_id is not None,
        "last_rebuilt_at": iso(d.last_rebuilt_at),
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
    }


def version(v: DatasetVersion) -> dict[str, Any]:
    """DatasetVersion."""
    return {
        "version": v.version,
        "columns": v.columns,
        "row_count": v.row_count,
        "operation": v.operation,
        "created_by_id": v.created_by_id,
        "created_at": iso(v.created_at),
    }


def write_result(r: WriteResult) -> dict[str, Any]:
    """What a write did."""
    return {
        "inserted": r.inserted,
        "updated": r.updated,
        "deleted": r.deleted,
        "row_count": r.row_count,
        "dataset": dataset(r.dataset),
    }


def rebuild(o: RebuildOutcome) -> dict[str, Any]:
    """What a rebuild from the source query did."""
    return {
        "method": o.method,
        "rebuilt": o.rebuilt,
        "rows_read": o.rows_read,
        "inserted": o.inserted,
        "updated": o.updated,
        "row_count": o.dataset.row_count,
        "message": o.message,
        "dataset": dataset(o.dataset),
    }


def task(t: BackgroundTask) -> dict[str, Any]:
    """BackgroundTask."""
    return {
        "id": t.id,
        "uuid": str(t.uuid),
        "kind": t.kind,
        "status": t.status,
        "result": t.result,
        "error": t.error,
        "created_at": iso(t.created_at),
        "finished_at": iso(t.finished_at),
    }
