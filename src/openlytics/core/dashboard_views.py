"""A dashboard as a person sees it: every widget with the latest data of its query, for rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.core.dashboards import DashboardDetail, DashboardService, position_of
from openlytics.core.parameters import parse_definitions
from openlytics.core.principal import Principal
from openlytics.core.public_links import PublicLinkService
from openlytics.render.model import Column, DashboardView, Position, VisualizationView, WidgetView
from openlytics.results.formats import rows_as_json_objects
from openlytics.results.store import ResultStore
from openlytics.store.db import Database
from openlytics.store.models import Organization, Query, QueryResult

# Charts of more rows than this are drawn from the first rows only (a page, not a data export).
MAX_ROWS_PER_WIDGET = 5_000


class DashboardViews:
    """Builds render-ready views of dashboards, for signed-in callers and public links alike."""

    def __init__(
        self,
        db: Database,
        results: ResultStore,
        dashboards: DashboardService,
        links: PublicLinkService,
        *,
        activity: ActivityLog | None = None,
    ) -> None:
        self.db = db
        self.results = results
        self.dashboards = dashboards
        self.links = links
        self.activity = activity

    def view(self, principal: Principal, ref: int | str) -> DashboardView:
        """The dashboard `ref` (id or slug) with each widget's latest data."""
        detail = self.dashboards.get(principal, ref)
        self._record(principal, detail.dashboard.id)
        return self._view(detail)

    def public_view(self, token: str) -> DashboardView:
        """The one dashboard a public link reaches (NotFoundError once revoked)."""
        principal, dashboard_id = self.links.resolve(token)
        detail = self.dashboards.get(principal, dashboard_id)
        self._record(principal, detail.dashboard.id)
        return self._view(detail)

    def _record(self, principal: Principal, dashboard_id: int) -> None:
        if self.activity is not None:
            self.activity.record(
                principal.org_id,
                principal.user_id,
                ActivityKind.DASHBOARD_VIEW,
                object_type="dashboard",
                object_id=dashboard_id,
            )

    def _view(self, detail: DashboardDetail) -> DashboardView:
        result_ids = {
            p.query.latest_result_id for p in detail.widgets if p.query and p.query.latest_result_id
        }
        with self.db.session() as s:
            found = list(s.scalars(select(QueryResult).where(QueryResult.id.in_(result_ids))))
            results = {r.id: r for r in found}
            organization = s.get(Organization, detail.dashboard.org_id)
        widgets = []
        for placed in detail.widgets:
            pos = position_of(placed.widget)
            position = Position(col=pos["col"], row=pos["row"], size_x=pos["sizeX"], size_y=pos["sizeY"])
            viz = placed.visualization
            if viz is None or placed.query is None:
                widgets.append(WidgetView(position=position, text=placed.widget.text))
                continue
            result = results.get(placed.query.latest_result_id or -1)
            columns: tuple[Column, ...] = ()
            rows: tuple[dict[str, object], ...] = ()
            if result is not None:
                columns = tuple(Column(c["name"], c["type"]) for c in result.columns)
                reader = self.results.open(result.path)
                try:
                    rows = tuple(rows_as_json_objects(reader, MAX_ROWS_PER_WIDGET))
                finally:
                    reader.close()
            view = VisualizationView(
                type=viz.type,
                name=f"{placed.query.name} - {viz.name}",
                options=dict(viz.options or {}),
                columns=columns,
                rows=rows,
                parameters=parameter_values(placed.query, result.parameters if result else None),
            )
            widgets.append(WidgetView(position=position, visualization=view, key=str(viz.uuid)))
        options = detail.dashboard.options or {}
        return DashboardView(
            name=detail.dashboard.name,
            widgets=tuple(widgets),
            custom_css=str(options.get("custom_css") or ""),
            header_html=str(options.get("custom_header_html") or ""),
            organization=organization.name if organization is not None else "",
        )


def parameter_values(query: Query, used: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """Each parameter of the query (title or name) with the value its result used, else its default."""
    used = used or {}
    return tuple(
        (d.title or d.name, _as_text(used.get(d.name, d.default)))
        for d in parse_definitions(query.parameters or [])
    )


def _as_text(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, Mapping) and set(value) == {"start", "end"}:
        return f"{_as_text(value['start'])} to {_as_text(value['end'])}"
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(v) for v in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
