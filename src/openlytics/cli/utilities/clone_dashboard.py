"""Copy a dashboard with copies of its queries, on the same server or onto another one.

On the same server (and organization) queries are forked, which copies their visualizations. On
another server, or another organization, queries are created anew on the target's default data
source (or the one given) and their visualizations re-created. Widgets then point at the copies,
at the same positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from openlytics.client import Client, Dashboard, Query, Visualization

# progress(done, total) over the queries copied.
Progress = Callable[[int, int], None]


@dataclass
class Clone:
    """The new dashboard and which copies replaced which originals."""

    dashboard: Dashboard
    url: str
    queries: dict[int, int] = field(default_factory=dict)  # original query id -> copy
    visualizations: dict[int, int] = field(default_factory=dict)


def clone_dashboard(
    source: Client,
    id_or_slug: int | str,
    prefix: str,
    *,
    target: Client | None = None,
    data_source_id: int | None = None,
    progress: Progress | None = None,
) -> Clone:
    """Copy the dashboard `id_or_slug` as `prefix + name`, onto `target` when given (else in place)."""
    same_place = target is None
    destination = source if target is None else target
    original = source.dashboards.get(id_or_slug)
    query_ids = list(dict.fromkeys(w.query_id for w in original.widgets if w.query_id is not None))
    queries: dict[int, int] = {}
    visualizations: dict[int, int] = {}
    for done, query_id in enumerate(query_ids, start=1):
        query = source.queries.get(query_id)
        if same_place:
            copy = source.queries.fork(query_id)
            copy = source.queries.update(copy.id, name=prefix + query.name)
        else:
            copy = _create_query(destination, query, prefix, data_source_id)
        queries[query_id] = copy.id
        visualizations.update(_copy_visualizations(source, destination, query_id, copy.id))
        if progress is not None:
            progress(done, len(query_ids))
    dashboard = destination.dashboards.create(
        prefix + original.name,
        tags=original.tags or None,
        is_draft=original.is_draft,
        filters_enabled=original.filters_enabled,
        options=original.options or None,
    )
    for widget in original.widgets:
        viz = visualizations[widget.visualization_id] if widget.visualization_id is not None else None
        destination.dashboards.add_widget(
            dashboard.id,
            viz,
            text=widget.text if viz is None else None,
            width=widget.width,
            options=widget.options,
        )
    url = f"{destination.server_url}/dashboards/{dashboard.slug}"
    return Clone(destination.dashboards.get(dashboard.id), url, queries, visualizations)


def _create_query(target: Client, query: Query, prefix: str, data_source_id: int | None) -> Query:
    # Parameters of type `query` keep the original's query id: it means nothing on the target.
    return target.queries.create(
        prefix + query.name,
        query.sql,
        data_source_id=data_source_id,
        description=query.description,
        parameters=query.parameters or None,
        tags=query.tags or None,
        timeout=query.timeout,
    )


def _copy_visualizations(source: Client, target: Client, original_id: int, copy_id: int) -> dict[int, int]:
    """Map each visualization of the original to an identical one of the copy, creating what is missing."""
    available = list(target.visualizations.list(copy_id))  # a fork's copies, or a new query's table
    mapping: dict[int, int] = {}
    for viz in source.visualizations.list(original_id):
        twin = next((v for v in available if _same(v, viz)), None)
        if twin is None:
            twin = target.visualizations.create(copy_id, viz.type, viz.name, viz.description, viz.options)
        else:
            available.remove(twin)
        mapping[viz.id] = twin.id
    return mapping


def _same(a: Visualization, b: Visualization) -> bool:
    return (a.type, a.name, a.description, a.options) == (b.type, b.name, b.description, b.options)
