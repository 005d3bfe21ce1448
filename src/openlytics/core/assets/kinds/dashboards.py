"""Dashboards as documents: their settings and widgets, each a visualization reference or text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.documents import guid_of, reference
from openlytics.core.assets.kinds.base import AssetKind, known_fields
from openlytics.core.dashboards import DashboardDetail, PlacedWidget
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.store.models import Dashboard, Visualization

_FIELDS = frozenset({"name", "tags", "is_draft", "filters_enabled", "options", "widgets"})
_SETTINGS = ("name", "tags", "is_draft", "filters_enabled", "options")
_WIDGET_FIELDS = frozenset({"visualization", "text", "width", "options"})


class DashboardKind(AssetKind):
    """A dashboard: settings plus widgets in order."""

    name = "dashboard"
    model = Dashboard
    share_kind = "dashboard"

    def get(self, ctx: AssetContext, object_id: int) -> Dashboard:
        return self._detail(ctx, object_id).dashboard

    def _detail(self, ctx: AssetContext, object_id: int) -> DashboardDetail:
        with ctx.services.db.session() as s:
            guid = s.scalar(select(Dashboard.uuid).where(Dashboard.id == object_id))
        if guid is None:
            raise NotFoundError("dashboard", object_id)
        return ctx.services.dashboards.get(ctx.principal, str(guid))

    def _live(self, stmt: Any) -> Any:
        return stmt.where(Dashboard.is_archived.is_(False))

    def body(self, ctx: ExportContext, obj: Dashboard) -> dict[str, Any]:
        detail = self._detail(ctx, obj.id)
        body: dict[str, Any] = {key: getattr(obj, key) for key in _SETTINGS}
        body["tags"] = list(obj.tags or [])
        body["options"] = dict(obj.options or {})
        body["widgets"] = [_widget_entry(ctx, placed) for placed in detail.widgets]
        return body

    def associations(self, ctx: ExportContext, obj: Dashboard) -> list[tuple[str, int]]:
        queries = [p.query.id for p in self._detail(ctx, obj.id).widgets if p.query is not None]
        return [("query", query_id) for query_id in dict.fromkeys(queries)]

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Dashboard:
        known_fields(body, _FIELDS, self.name)
        settings = {key: body[key] for key in _SETTINGS if key in body}
        name = settings.pop("name", None)
        dashboard = ctx.services.dashboards.create(ctx.principal, name=name, **settings)
        self._sync_widgets(ctx, dashboard, body)
        return dashboard

    def update(self, ctx: ImportContext, obj: Dashboard, body: dict[str, Any]) -> Dashboard:
        known_fields(body, _FIELDS, self.name)
        settings = {key: body[key] for key in _SETTINGS if key in body}
        dashboard = ctx.services.dashboards.update(ctx.principal, obj.id, **settings)
        self._sync_widgets(ctx, dashboard, body)
        return dashboard

    def _sync_widgets(self, ctx: ImportContext, dashboard: Dashboard, body: dict[str, Any]) -> None:
        """Make the widgets those of the document, in order: a widget showing the same
        visualization (or a text widget) is kept and updated, the rest created or removed."""
        if "widgets" not in body:
            return
        entries = body["widgets"]
        if not isinstance(entries, list):
            raise InvalidInputError("dashboard.widgets", "a list")
        service = ctx.services.dashboards
        current = self._detail(ctx, dashboard.id).widgets
        used: set[int] = set()
        for position, entry in enumerate(entries):
            where = f"dashboard.widgets[{position}]"
            if not isinstance(entry, dict):
                raise InvalidInputError(where, "a mapping")
            known_fields(entry, _WIDGET_FIELDS, where)
            viz_id = (
                _resolve_visualization(ctx, entry["visualization"], f"{where}.visualization")
                if entry.get("visualization") is not None
                else None
            )
            layout = {key: entry[key] for key in ("width", "options") if key in entry}
            match = next(
                (
                    p.widget
                    for p in current
                    if p.widget.id not in used and p.widget.visualization_id == viz_id
                ),
                None,
            )
            if match is None:
                placed = service.add_widget(
                    ctx.principal,
                    dashboard_id=dashboard.id,
                    visualization_id=viz_id,
                    text=entry.get("text", ""),
                    **layout,
                )
                used.add(placed.widget.id)
                continue
            used.add(match.id)
            changes = dict(layout)
            if viz_id is None and "text" in entry:
                changes["text"] = entry["text"]
            if changes:
                service.update_widget(ctx.principal, match.id, **changes)
        for placed in current:
            if placed.widget.id not in used:
                service.delete_widget(ctx.principal, placed.widget.id)


def _widget_entry(ctx: ExportContext, placed: PlacedWidget) -> dict[str, Any]:
    widget, viz, query = placed.widget, placed.visualization, placed.query
    entry: dict[str, Any] = {}
    if viz is not None and query is not None:
        entry["visualization"] = reference(
            viz.name, viz.uuid, fqn=ctx.fqn, query=reference(query.name, query.uuid, fqn=ctx.fqn)
        )
    else:
        entry["text"] = widget.text
    entry["width"] = widget.width
    entry["options"] = dict(widget.options or {})
    return entry


def _resolve_visualization(ctx: ImportContext, ref: Any, where: str) -> int:
    """A visualization by guid (this import's, then the organization's), else by its query and
    its name within that query."""
    if not isinstance(ref, Mapping):
        raise InvalidInputError(where, "{name, query, fqn}")
    guid = guid_of(ref.get("fqn"), f"{where}.fqn")
    if guid is not None:
        if ("visualization", guid) in ctx.imported:
            return ctx.imported[("visualization", guid)]
        found = ctx.session.scalar(
            select(Visualization.id).where(
                Visualization.org_id == ctx.principal.org_id, Visualization.uuid == guid
            )
        )
        if found is not None:
            try:
                return ctx.services.visualizations.get(ctx.principal, found).id
            except NotFoundError:
                pass
    if ref.get("query") is None or not isinstance(ref.get("name"), str):
        raise InvalidInputError(where, f"no visualization {str(guid)!r}; give its query and name")
    query_id = ctx.resolve("query", ref["query"], f"{where}.query")
    visualizations = ctx.services.visualizations.for_queries(ctx.principal, [query_id]).get(query_id, [])
    for viz in sorted(visualizations, key=lambda v: v.id):
        if viz.name == ref["name"]:
            return viz.id
    raise InvalidInputError(where, f"the query has no visualization {ref['name']!r}")
