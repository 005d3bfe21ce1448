"""Which datasets a dashboard reads: the tables its queries' SQL names, matched to dataset names."""

from __future__ import annotations

from sqlglot.errors import SqlglotError

from openlytics.core.dashboards import DashboardService
from openlytics.core.datasets.service import DatasetService
from openlytics.core.principal import Principal
from openlytics.sql_tables import dialect_for, tables_in
from openlytics.store.models import Dataset


def datasets_of_dashboard(
    principal: Principal, dashboards: DashboardService, datasets: DatasetService, ref: int | str
) -> list[Dataset]:
    """The datasets read by the queries of a dashboard's widgets, by name, each once."""
    detail = dashboards.get(principal, ref)
    # The datasets live in the warehouse, so its queries are read in the warehouse's dialect.
    dialect = dialect_for(datasets.sources.sql_dialect(datasets.sources.default(principal)) or "warehouse")
    names: set[str] = set()
    for placed in detail.widgets:
        if placed.query is None:
            continue
        try:
            names.update(t.split(".")[-1] for t in tables_in(placed.query.sql, dialect))
        except SqlglotError:
            continue  # a query the parser cannot read names no dataset we could prove
    found: dict[int, Dataset] = {}
    for name in sorted(names):
        dataset = datasets.find_by_name(principal, name) or datasets.find_by_name(principal, name.lower())
        if dataset is not None:
            found[dataset.id] = dataset
    return list(found.values())
