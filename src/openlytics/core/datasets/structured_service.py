"""Structured queries over a dataset, run as jobs: cached, de-duplicated, and stale after any write.

The SQL is compiled by us from a validated query, so reading a dataset needs READ, not RUN_ADHOC.
Cached results are keyed by the statement and the warehouse's cache generation (see
`JobService.run`); the statement carries the dataset's id, its physical table and its own cache
generation, so a write that swaps the table or bumps either generation makes old results stale.

Row filters (team parameters, see core/teams.py) are ANDed into the query's `where` before it is
compiled, so they are part of the statement and therefore of the cache key: a result cached for
one principal is never served to a principal whose filters differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from openlytics.core.datasets.structured_model import Condition
from openlytics.core.datasets.structured_query import (
    DIALECTS,
    RESULT_ORDERS,
    CompiledQuery,
    StructuredQuery,
    compile_structured_query,
    parse_structured_query,
    shape_result,
)
from openlytics.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    QueryCancelledError,
    QueryFailedError,
)
from openlytics.core.jobs.outcome import RunPlan
from openlytics.core.jobs.service import JobService
from openlytics.core.jobs.status import JobStatus
from openlytics.core.principal import Action, Principal
from openlytics.engines.base import Statement
from openlytics.store.db import Database
from openlytics.store.models import Dataset, DataSource, Job, QueryResult

#: Finds a dataset the principal may see by id (NotFoundError otherwise); the dataset service's.
DatasetLookup = Callable[[Principal, int], Dataset]
#: The conditions limiting the rows of a dataset a principal reads (the team service's).
RowFilters = Callable[[Principal, Dataset], list[Condition]]


class EmptyDatasetError(ConflictError):
    """The dataset has no table yet: nothing was ever loaded into it."""

    def __init__(self, dataset_id: int, name: str) -> None:
        super().__init__(f"dataset {name!r} is empty", dataset_id=dataset_id, name=name)
        self.dataset_id = dataset_id
        self.name = name


@dataclass(frozen=True)
class StructuredResult:
    """Output columns (name, logical type) and data shaped by `order`; data is None while running."""

    columns: list[tuple[str, str]]
    data: list[list[Any]] | None
    order: str
    job: Job | None  # None when answered from the cache
    result: QueryResult | None

    @property
    def pending(self) -> bool:
        """Whether the job was still running when the wait ended (poll the job, then read the result)."""
        return self.data is None


class StructuredQueryService:
    """Compiles structured queries over datasets and runs them through the job service."""

    def __init__(
        self,
        db: Database,
        jobs: JobService,
        datasets_lookup: DatasetLookup,
        row_filters: RowFilters | None = None,
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.datasets_lookup = datasets_lookup
        self.row_filters = row_filters

    def plan(
        self,
        principal: Principal,
        dataset: Dataset,
        query: StructuredQuery | Mapping[str, Any],
        *,
        measures: Mapping[str, str] | None = None,
    ) -> tuple[RunPlan, CompiledQuery]:
        """Check access and compile `query` (parsed, or JSON data) over the dataset's current table."""
        if not isinstance(query, StructuredQuery):
            query = parse_structured_query(query)
        resource = f"dataset {dataset.id}"
        principal.require(Action.READ, resource)
        if principal.is_query_key or principal.credential == "public_link":
            raise PermissionDeniedError("read", resource)
        if dataset.org_id != principal.org_id:
            raise NotFoundError("dataset", dataset.id)
        if not dataset.table_name:
            raise EmptyDatasetError(dataset.id, dataset.name)
        source = self._source(principal, dataset)
        dialect = self.jobs.sources.sql_dialect(source)
        if dialect not in DIALECTS:
            raise InvalidInputError("dataset", f"structured queries do not run on {source.kind} sources")
        filters = self.row_filters(principal, dataset) if self.row_filters else []
        if filters:
            query = replace(query, where=(*query.where, *filters))
        compiled = compile_structured_query(
            query,
            table=dataset.table_name,
            columns={str(c["name"]): str(c["type"]) for c in dataset.columns or []},
            dialect=dialect,
            measures=measures,
            comment=f"dataset {dataset.id} generation {dataset.cache_generation}",
        )
        timeout = self.jobs.sources.timeout(source) or self.jobs.default_timeout
        return RunPlan(source=source, statement=Statement.plain(compiled.sql), timeout=timeout), compiled

    def run(
        self,
        principal: Principal,
        dataset: Dataset,
        query: StructuredQuery | Mapping[str, Any],
        *,
        measures: Mapping[str, str] | None = None,
        order: str = "row_by_row",
        max_age: float = 0,
        wait: float | None = None,
    ) -> StructuredResult:
        """Run `query` (from the cache when a result is younger than `max_age` s; -1: any age).

        Waits up to `wait` seconds (default: the job service's longest wait) for the rows.
        """
        if order not in RESULT_ORDERS:
            raise InvalidInputError("order", f"one of {', '.join(RESULT_ORDERS)}")
        plan, compiled = self.plan(principal, dataset, query, measures=measures)
        outcome = self.jobs.run(
            principal, plan, max_age=max_age, wait=self.jobs.max_wait if wait is None else wait
        )
        job, result = outcome.job, outcome.result
        if result is not None:
            data = shape_result(self.jobs.results.open(result.path).read_all(), order)
            return StructuredResult(compiled.output_columns, data, order, job, result)
        assert job is not None
        if job.status == JobStatus.FAILURE:
            raise QueryFailedError(job.error or "the query failed")
        if job.status == JobStatus.CANCELLED:
            raise QueryCancelledError()
        return StructuredResult(compiled.output_columns, None, order, job, None)

    def run_by_id(
        self,
        principal: Principal,
        dataset_id: int,
        query: StructuredQuery | Mapping[str, Any],
        **options: Any,
    ) -> StructuredResult:
        """`run` on the dataset with this id (looked up for the principal)."""
        return self.run(principal, self.datasets_lookup(principal, dataset_id), query, **options)

    def _source(self, principal: Principal, dataset: Dataset) -> DataSource:
        # Read afresh: the cache key includes the source's current cache generation.
        with self.db.session() as s:
            source = s.get(DataSource, dataset.data_source_id)
            if source is None or source.org_id != principal.org_id:
                raise NotFoundError("data source", dataset.data_source_id)
            return source
