"""Visualizations: how a saved query's result is drawn (table, chart, pivot table, counter)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, visible
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.principal import Action, Principal
from openlytics.render.errors import VisualizationOptionsError
from openlytics.render.options import check_options
from openlytics.store.db import Database
from openlytics.store.models import Query, QueryResult, Visualization
from openlytics.store.types import utcnow

TYPES = frozenset({"TABLE", "CHART", "PIVOT", "COUNTER"})
DEFAULT_TABLE_NAME = "Table"


class VisualizationService:
    """Create, read, edit and delete the visualizations of queries."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    def for_queries(self, principal: Principal, query_ids: list[int]) -> dict[int, list[Visualization]]:
        """The visualizations of each query, oldest first."""
        principal.require(Action.READ, "visualizations")
        found: dict[int, list[Visualization]] = {qid: [] for qid in query_ids}
        if not query_ids:
            return found
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(Visualization)
                    .where(Visualization.org_id == principal.org_id, Visualization.query_id.in_(query_ids))
                    .order_by(Visualization.id)
                )
            )
        shown = visible(self.sharing, principal, "visualization", [viz.id for viz in rows])
        for viz in rows:
            if viz.id in shown:
                found[viz.query_id].append(viz)
        return found

    def get(self, principal: Principal, visualization_id: int) -> Visualization:
        """One visualization."""
        principal.require(Action.READ, f"visualization {visualization_id}")
        with self.db.session() as s:
            return self._get(s, principal, visualization_id)

    def create(
        self,
        principal: Principal,
        *,
        query_id: Any,
        type: Any,
        name: Any = None,
        description: Any = None,
        options: Any = None,
    ) -> Visualization:
        """Add a visualization to a query; its options must fit the query's latest columns."""
        principal.require(Action.WRITE, "visualizations")
        if isinstance(query_id, bool) or not isinstance(query_id, int):
            raise InvalidInputError("query_id", "a query id")
        with self.db.session() as s:
            query = s.get(Query, query_id)
            if query is None or query.org_id != principal.org_id:
                raise NotFoundError("query", query_id)
            require_access(self.sharing, principal, "query", query.id, "MODIFY")
            viz_type = _type(type)
            viz = Visualization(
                org_id=principal.org_id,
                query_id=query.id,
                type=viz_type,
                name=_name(name, default=viz_type.title()),
                description=_description(description),
                options=_options(options),
            )
            _check_against_columns(s, query, viz)
            s.add(viz)
            s.flush()
            return viz

    def update(self, principal: Principal, visualization_id: int, **changes: Any) -> Visualization:
        """Change name, description, type or options."""
        principal.require(Action.WRITE, f"visualization {visualization_id}")
        unknown = set(changes) - {"name", "description", "type", "options"}
        if unknown:
            raise InvalidInputError(sorted(unknown)[0], "unknown field")
        with self.db.session() as s:
            viz = self._get(s, principal, visualization_id, "MODIFY")
            if "type" in changes:
                viz.type = _type(changes["type"])
            if "name" in changes:
                viz.name = _name(changes["name"], default=viz.name)
            if "description" in changes:
                viz.description = _description(changes["description"])
            if "options" in changes:
                viz.options = _options(changes["options"])
            query = s.get(Query, viz.query_id)
            assert query is not None
            _check_against_columns(s, query, viz)
            viz.updated_at = utcnow()
            return viz

    def delete(self, principal: Principal, visualization_id: int) -> None:
        """Delete a visualization and the widgets that show it."""
        principal.require(Action.WRITE, f"visualization {visualization_id}")
        with self.db.session() as s:
            s.delete(self._get(s, principal, visualization_id, "MODIFY"))

    def _get(
        self, s: Session, principal: Principal, visualization_id: int, mode: str = "READ_ONLY"
    ) -> Visualization:
        viz = s.get(Visualization, visualization_id)
        if viz is None or viz.org_id != principal.org_id:
            raise NotFoundError("visualization", visualization_id)
        principal.require_query(viz.query_id)
        # A chart draws its query's results: one hidden from the caller hides the chart too.
        if viz.query_id not in visible(self.sharing, principal, "query", [viz.query_id]):
            raise NotFoundError("visualization", visualization_id)
        require_access(self.sharing, principal, "visualization", visualization_id, mode)
        if mode == "MODIFY":  # a chart is part of its query: changing it changes the query
            require_access(self.sharing, principal, "query", viz.query_id, mode)
        return viz


def default_table(query: Query) -> Visualization:
    """The table every new query starts with."""
    return Visualization(
        org_id=query.org_id, query_id=query.id, type="TABLE", name=DEFAULT_TABLE_NAME, options={}
    )


def copy_of(viz: Visualization, query_id: int) -> Visualization:
    """The same visualization for another query (options copied verbatim)."""
    return Visualization(
        org_id=viz.org_id,
        query_id=query_id,
        type=viz.type,
        name=viz.name,
        description=viz.description,
        options=dict(viz.options or {}),
    )


def _check_against_columns(s: Session, query: Query, viz: Visualization) -> None:
    columns: list[str] = []
    if query.latest_result_id is not None:
        result = s.get(QueryResult, query.latest_result_id)
        if result is not None:
            columns = [c["name"] for c in result.columns]
    try:
        check_options(viz.type, viz.options, columns)
    except VisualizationOptionsError as exc:
        raise InvalidInputError(f"options.{exc.field}", exc.reason) from None


def _type(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in TYPES:
        raise InvalidInputError("type", f"one of {', '.join(sorted(TYPES))}")
    return value.upper()


def _name(value: Any, *, default: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if not isinstance(value, str) or len(value) > 255:
        raise InvalidInputError("name", "a string of at most 255 characters")
    return value.strip()


def _description(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInputError("description", "a string")
    return value


def _options(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError("options", "an object")
    return value
