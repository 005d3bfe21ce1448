"""Rebuilding a dataset from its source query: run the saved query afresh, then apply its rows.

A dataset with a `source_query_id` is refreshable; one without is a custom table whose rows are only
pushed, and rebuilding it changes nothing. The methods:

- `reload`: replace every row, keeping the types of the columns that remain (columns the query no
  longer returns are dropped, new ones inferred); a new version.
- `recreate`: replace data and schema, every type inferred afresh; a new version.
- `append`: add the rows.
- `update`: overwrite the rows whose primary key comes again; rows with a new key are ignored.
- `updateappend`: upsert by the primary key.

The query runs before anything is written: when it fails or times out the dataset is left exactly as
it was. A dataset without a schema yet (never loaded) is loaded as by `recreate`, whatever the method.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa

from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.service import DatasetService
from openlytics.core.datasets.writes import WriteResult
from openlytics.core.errors import InvalidInputError, QueryCancelledError, QueryFailedError, QueryTimeoutError
from openlytics.core.jobs.service import JobService
from openlytics.core.jobs.status import JobStatus
from openlytics.core.principal import Action, Principal
from openlytics.store.models import Dataset

REBUILD_METHODS = ("reload", "recreate", "update", "updateappend", "append")
_KEYED = ("update", "updateappend")


@dataclass(frozen=True)
class RebuildOutcome:
    """What a rebuild did: `rebuilt` is False for a custom table (nothing to rebuild from)."""

    dataset: Dataset
    method: str
    rebuilt: bool
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    message: str = ""


class DatasetRebuilds:
    """Rebuild datasets from their source queries (on demand, or from a `dataset_rebuild` schedule)."""

    def __init__(self, datasets: DatasetService, jobs: JobService, *, timeout: float = 600.0) -> None:
        self.datasets = datasets
        self.jobs = jobs
        self.timeout = timeout

    def rebuild(self, principal: Principal, dataset_id: int, method: str = "reload") -> RebuildOutcome:
        """Run the dataset's source query afresh and apply its rows by `method` (see the module)."""
        if method not in REBUILD_METHODS:
            raise InvalidInputError("method", f"one of {', '.join(REBUILD_METHODS)}")
        dataset = self.datasets.get(principal, dataset_id)
        principal.require(Action.WRITE, f"dataset {dataset_id}")
        if dataset.source_query_id is None:
            message = f"dataset {dataset.name!r} is a custom table: it has no source query to rebuild from"
            return RebuildOutcome(dataset, method, rebuilt=False, message=message)
        if method in _KEYED and not dataset.primary_key:
            raise InvalidInputError("method", f"{method} needs a primary key: set one on the dataset first")
        reader, rows_read = self._run_query(principal, dataset.source_query_id)
        try:
            written = self._apply(principal, dataset, method, LoadSource.from_arrow(reader))
        finally:
            reader.close()
        rebuilt = self.datasets.record_rebuild(principal, dataset.id)
        return RebuildOutcome(
            rebuilt,
            method,
            rebuilt=True,
            rows_read=rows_read,
            inserted=written.inserted,
            updated=written.updated,
            message=_message(method, rows_read, written),
        )

    def _apply(self, principal: Principal, dataset: Dataset, method: str, source: LoadSource) -> WriteResult:
        datasets, key = self.datasets, dataset.primary_key
        if not dataset.columns or method == "recreate":
            return datasets.reload(principal, dataset.id, source)
        if method == "reload":
            incoming = set(_schema(source).names)
            kept = {c["name"]: c["type"] for c in dataset.columns if c["name"] in incoming}
            return datasets.reload(principal, dataset.id, source, force_types=kept)
        if method == "append":
            return datasets.append(principal, dataset.id, source)
        if method == "update":
            return datasets.update_existing(principal, dataset.id, source, key)
        return datasets.upsert(principal, dataset.id, source, key)

    def _run_query(self, principal: Principal, query_id: int) -> tuple[pa.RecordBatchReader, int]:
        """The rows of a fresh run of the saved query and their count; raises the query's error."""
        deadline = time.monotonic() + self.timeout
        outcome = self.jobs.run_saved(principal, query_id, max_age=0, wait=self.timeout)
        job, result = outcome.job, outcome.result
        if result is None:
            assert job is not None
            if not JobStatus(job.status).finished:
                job = self.jobs.wait(job.id, max(0.0, deadline - time.monotonic()))
            if not JobStatus(job.status).finished:
                self.jobs.cancel(principal, job.id)
                raise QueryTimeoutError(self.timeout)
            if job.status == JobStatus.CANCELLED:
                raise QueryCancelledError()
            if job.status != JobStatus.SUCCESS or job.result_id is None:
                raise QueryFailedError(job.error or "the source query failed")
            result_id = job.result_id
        else:
            result_id = result.id
        stored, reader = self.jobs.open_result(principal, result_id)
        return reader, stored.row_count


def _schema(source: LoadSource) -> pa.Schema:
    assert source.arrow is not None
    return source.arrow.schema


def _message(method: str, rows_read: int, written: WriteResult) -> str:
    done = {
        "reload": f"reloaded {written.inserted} rows",
        "recreate": f"recreated with {written.inserted} rows",
        "append": f"appended {written.inserted} rows",
        "update": f"updated {written.updated} rows",
        "updateappend": f"inserted {written.inserted} and updated {written.updated} rows",
    }[method]
    return f"{done} from {rows_read} rows of the source query"
