"""Dashboards: pages of widgets (visualizations and text), their slugs, tags, drafts and archive."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, visible, without_hidden
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.favorites import favorite_ids
from openlytics.core.pagination import Page, paginate
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import Dashboard, Query, Visualization, Widget
from openlytics.store.types import utcnow

EDITABLE_FIELDS = frozenset({"name", "tags", "is_draft", "filters_enabled", "options"})
GRID_COLUMNS = 6


@dataclass(frozen=True)
class PlacedWidget:
    """A widget with what it shows: a visualization of a query, or text alone."""

    widget: Widget
    visualization: Visualization | None
    query: Query | None


@dataclass(frozen=True)
class DashboardDetail:
    """A dashboard with its widgets, ordered by position."""

    dashboard: Dashboard
    widgets: list[PlacedWidget]


class DashboardService:
    """Create, find, edit and archive dashboards and place widgets on them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    # ----- dashboards --------------------------------------------------------------------
    def list(
        self,
        principal: Principal,
        *,
        search: str | None = None,
        tag: str | None = None,
        favorites_only: bool = False,
        include_archived: bool = False,
        page: int = 1,
        per_page: int = 25,
    ) -> Page[Dashboard]:
        """Dashboards of the organization, most recently changed first."""
        _require_dashboards(principal, Action.READ)
        stmt = select(Dashboard).where(Dashboard.org_id == principal.org_id)
        if not include_archived:
            stmt = stmt.where(Dashboard.is_archived.is_(False))
        if favorites_only:
            stmt = stmt.where(Dashboard.id.in_(favorite_ids(principal, "dashboard")))
        stmt = without_hidden(stmt, self.sharing, principal, "dashboard", Dashboard.id)
        if search:
            pattern = f"%{search.lower().replace('%', '').replace('_', '')}%"
            stmt = stmt.where(or_(Dashboard.name.ilike(pattern), Dashboard.slug.ilike(pattern)))
        with self.db.session() as s:
            if tag:
                ids = [d.id for d in s.scalars(stmt) if tag in (d.tags or [])]
                stmt = select(Dashboard).where(Dashboard.id.in_(ids))
            return paginate(
                s, stmt.order_by(Dashboard.updated_at.desc(), Dashboard.id.desc()), page, per_page
            )

    def get(self, principal: Principal, id_or_slug: int | str) -> DashboardDetail:
        """A dashboard by UUID, by slug, or by id when no slug matches and the reference is a number."""
        _require_dashboards(principal, Action.READ)
        with self.db.session() as s:
            return self._detail(s, principal, self._find(s, principal, id_or_slug))

    def create(self, principal: Principal, *, name: Any, **fields: Any) -> Dashboard:
        """A new, empty draft dashboard with a slug made from its name."""
        _require_dashboards(principal, Action.WRITE)
        _refuse_unknown(fields)
        with self.db.session() as s:
            dashboard = Dashboard(
                org_id=principal.org_id,
                user_id=principal.user_id,
                name=_name(name),
                tags=[],
                options={},
                is_draft=True,
            )
            dashboard.slug = _free_slug(s, principal.org_id, dashboard.name)
            _apply(dashboard, fields)
            s.add(dashboard)
            s.flush()
            _ = dashboard.user
            return dashboard

    def update(self, principal: Principal, dashboard_id: int, **changes: Any) -> Dashboard:
        """Change name, tags, draft state, filters or layout options; an empty change is a no-op."""
        _require_dashboards(principal, Action.WRITE)
        _refuse_unknown(changes)
        with self.db.session() as s:
            dashboard = self._find(s, principal, dashboard_id, "MODIFY")
            if changes:
                _apply(dashboard, changes)
                dashboard.version += 1
                dashboard.updated_at = utcnow()
            _ = dashboard.user
            return dashboard

    def archive(self, principal: Principal, dashboard_id: int) -> Dashboard:
        """Archive a dashboard: hidden from lists; its widgets can no longer change."""
        _require_dashboards(principal, Action.WRITE)
        with self.db.session() as s:
            dashboard = self._find(s, principal, dashboard_id, "MODIFY")
            dashboard.is_archived = True
            dashboard.updated_at = utcnow()
            _ = dashboard.user
            return dashboard

    # ----- widgets -----------------------------------------------------------------------
    def add_widget(
        self,
        principal: Principal,
        *,
        dashboard_id: Any,
        visualization_id: Any = None,
        text: Any = "",
        width: Any = 1,
        options: Any = None,
    ) -> PlacedWidget:
        """Place a visualization or a text box on a dashboard."""
        _require_dashboards(principal, Action.WRITE)
        if isinstance(dashboard_id, bool) or not isinstance(dashboard_id, int):
            raise InvalidInputError("dashboard_id", "a dashboard id")
        with self.db.session() as s:
            dashboard = self._find(s, principal, dashboard_id, "MODIFY")
            _editable(dashboard)
            viz = self._visualization(s, principal, visualization_id)
            text = _text(text)
            if viz is None and not text:
                raise InvalidInputError("text", "a text widget needs text (or give a visualization_id)")
            widget = Widget(
                org_id=principal.org_id,
                dashboard_id=dashboard.id,
                visualization_id=viz.id if viz else None,
                text=text if viz is None else "",
                width=_width(width),
                options=_widget_options(options),
            )
            s.add(widget)
            dashboard.updated_at = utcnow()
            s.flush()
            return PlacedWidget(widget, viz, s.get(Query, viz.query_id) if viz else None)

    def update_widget(self, principal: Principal, widget_id: int, **changes: Any) -> PlacedWidget:
        """Change a widget's text, width or options (position)."""
        _require_dashboards(principal, Action.WRITE)
        unknown = set(changes) - {"text", "width", "options"}
        if unknown:
            raise InvalidInputError(sorted(unknown)[0], "unknown field")
        with self.db.session() as s:
            widget, dashboard = self._widget(s, principal, widget_id)
            _editable(dashboard)
            if "text" in changes and widget.visualization_id is None:
                widget.text = _text(changes["text"]) or widget.text
            if "width" in changes:
                widget.width = _width(changes["width"])
            if "options" in changes:
                widget.options = _widget_options(changes["options"])
            widget.updated_at = dashboard.updated_at = utcnow()
            return _placed(s, widget)

    def delete_widget(self, principal: Principal, widget_id: int) -> None:
        """Remove a widget from its dashboard."""
        _require_dashboards(principal, Action.WRITE)
        with self.db.session() as s:
            widget, dashboard = self._widget(s, principal, widget_id)
            _editable(dashboard)
            s.delete(widget)
            dashboard.updated_at = utcnow()

    # ----- lookups -----------------------------------------------------------------------
    def _find(self, s: Session, principal: Principal, ref: int | str, mode: str = "READ_ONLY") -> Dashboard:
        dashboard = None
        as_uuid = _uuid_or_none(ref)
        if as_uuid is not None:
            dashboard = s.scalar(
                select(Dashboard).where(Dashboard.org_id == principal.org_id, Dashboard.uuid == as_uuid)
            )
        elif isinstance(ref, str):
            dashboard = s.scalar(
                select(Dashboard).where(Dashboard.org_id == principal.org_id, Dashboard.slug == ref)
            )
            ref = int(ref) if dashboard is None and ref.isdecimal() else ref
        if dashboard is None and isinstance(ref, int):
            dashboard = s.get(Dashboard, ref)
        if dashboard is None or dashboard.org_id != principal.org_id:
            raise NotFoundError("dashboard", ref)
        require_access(self.sharing, principal, "dashboard", dashboard.id, mode)
        return dashboard

    def _widget(self, s: Session, principal: Principal, widget_id: int) -> tuple[Widget, Dashboard]:
        """A widget the caller may change, and its dashboard."""
        widget = s.get(Widget, widget_id)
        if widget is None or widget.org_id != principal.org_id:
            raise NotFoundError("widget", widget_id)
        dashboard = s.get(Dashboard, widget.dashboard_id)
        assert dashboard is not None
        require_access(self.sharing, principal, "dashboard", dashboard.id, "MODIFY")
        viz = s.get(Visualization, widget.visualization_id) if widget.visualization_id else None
        if viz is not None and not self._shown_charts(principal, [viz]):
            raise NotFoundError("widget", widget_id)
        return widget, dashboard

    def _visualization(self, s: Session, principal: Principal, ref: Any) -> Visualization | None:
        if ref is None:
            return None
        if isinstance(ref, bool) or not isinstance(ref, int):
            raise InvalidInputError("visualization_id", "a visualization id or null")
        viz = s.get(Visualization, ref)
        if viz is None or viz.org_id != principal.org_id:
            raise NotFoundError("visualization", ref)
        if not self._shown_charts(principal, [viz]):
            raise NotFoundError("visualization", ref)
        return viz

    def _detail(self, s: Session, principal: Principal, dashboard: Dashboard) -> DashboardDetail:
        """The dashboard with the widgets the caller may see (docs/governance.md "Enforcement")."""
        widgets = s.scalars(select(Widget).where(Widget.dashboard_id == dashboard.id).order_by(Widget.id))
        placed = [_placed(s, w) for w in widgets]
        shown = self._shown_charts(principal, [p.visualization for p in placed if p.visualization])
        placed = [p for p in placed if p.visualization is None or p.visualization.id in shown]
        placed.sort(key=lambda p: (position_of(p.widget)["row"], position_of(p.widget)["col"], p.widget.id))
        _ = dashboard.user
        return DashboardDetail(dashboard, placed)

    def _shown_charts(self, principal: Principal, charts: Iterable[Visualization]) -> set[int]:
        """The ids of those visualizations whose chart and query the caller both reach."""
        charts = [*charts]
        shown = visible(self.sharing, principal, "visualization", [v.id for v in charts])
        queries = visible(self.sharing, principal, "query", [v.query_id for v in charts])
        return {v.id for v in charts if v.id in shown and v.query_id in queries}


def _uuid_or_none(ref: int | str) -> uuid.UUID | None:
    if not isinstance(ref, str) or len(ref) != 36:
        return None
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def position_of(widget: Widget) -> dict[str, int]:
    """A widget's grid position {col, row, sizeX, sizeY}, with defaults for missing parts."""
    raw = (widget.options or {}).get("position") or {}
    default = {"col": 0, "row": 0, "sizeX": 3, "sizeY": 8}
    return {key: _int_or(raw.get(key), value) for key, value in default.items()}


def _placed(s: Session, widget: Widget) -> PlacedWidget:
    viz = s.get(Visualization, widget.visualization_id) if widget.visualization_id else None
    return PlacedWidget(widget, viz, s.get(Query, viz.query_id) if viz else None)


def _require_dashboards(principal: Principal, action: Action) -> None:
    principal.require(action, "dashboards")
    if principal.is_query_key:
        raise PermissionDeniedError(action.value, "dashboards")


def _editable(dashboard: Dashboard) -> None:
    if dashboard.is_archived:
        raise ConflictError(f"dashboard {dashboard.id} is archived: its widgets cannot change")


def _apply(dashboard: Dashboard, changes: dict[str, Any]) -> None:
    if "name" in changes:
        dashboard.name = _name(changes["name"])
    if "tags" in changes:
        tags = changes["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise InvalidInputError("tags", "a list of non-empty strings")
        dashboard.tags = sorted({t.strip() for t in tags})
    for flag in ("is_draft", "filters_enabled"):
        if flag in changes:
            if not isinstance(changes[flag], bool):
                raise InvalidInputError(flag, "true or false")
            setattr(dashboard, flag, changes[flag])
    if "options" in changes:
        if not isinstance(changes["options"], dict):
            raise InvalidInputError("options", "an object")
        dashboard.options = changes["options"]


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInputError(sorted(unknown)[0], "unknown field")


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("name", "a non-empty string")
    if len(value) > 255:
        raise InvalidInputError("name", "at most 255 characters")
    return value.strip()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError("text", "a string")
    if len(value) > 100_000:
        raise InvalidInputError("text", "at most 100,000 characters")
    return value


def _width(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise InvalidInputError("width", "1, 2 or 3")
    return value


def _widget_options(value: Any) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidInputError("options", "an object")
    position = value.get("position")
    if position is not None:
        if not isinstance(position, dict):
            raise InvalidInputError("options.position", "an object with col, row, sizeX, sizeY")
        for key in ("col", "row", "sizeX", "sizeY"):
            item = position.get(key)
            if item is not None and (isinstance(item, bool) or not isinstance(item, int) or item < 0):
                raise InvalidInputError(f"options.position.{key}", "a non-negative integer")
        if (position.get("col") or 0) + (position.get("sizeX") or 1) > GRID_COLUMNS:
            raise InvalidInputError("options.position", f"col + sizeX must not exceed {GRID_COLUMNS}")
    return value


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _free_slug(s: Session, org_id: int, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "dashboard"
    if base.isdecimal():
        base = f"dashboard-{base}"  # a numeric slug would read as an id
    taken = set(
        s.scalars(select(Dashboard.slug).where(Dashboard.org_id == org_id, Dashboard.slug.like(f"{base}%")))
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}_{n}"
    return slug
