"""Saved queries as documents, with their visualizations inside (a visualization belongs to one
query; its guid is kept so dashboards and shares can refer to it)."""

from __future__ import annotations

from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.documents import guid_of, reference
from openlytics.core.assets.kinds.base import AssetKind, known_fields
from openlytics.core.assets.permissions import apply_permissions, exported_permissions
from openlytics.core.errors import InvalidInputError
from openlytics.store.models import Query, Visualization

_FIELDS = frozenset(
    {"name", "description", "data_source", "sql", "parameters", "tags", "options", "timeout", "is_draft"}
    | {"visualizations"}
)
_COPIED = ("name", "description", "sql", "parameters", "tags", "options", "timeout", "is_draft")
_VIZ_FIELDS = frozenset({"guid", "name", "type", "description", "options", "permissions"})


class QueryKind(AssetKind):
    """A saved query and its visualizations."""

    name = "query"
    model = Query
    share_kind = "query"

    def get(self, ctx: AssetContext, object_id: int) -> Query:
        return ctx.services.queries.get(ctx.principal, object_id)

    def _live(self, stmt: Any) -> Any:
        return stmt.where(Query.is_archived.is_(False))

    def body(self, ctx: ExportContext, obj: Query) -> dict[str, Any]:
        source = ctx.kinds["data_source"].get(ctx, obj.data_source_id)
        body: dict[str, Any] = {
            "name": obj.name,
            "description": obj.description,
            "data_source": reference(source.name, source.uuid, fqn=ctx.fqn),
            "sql": obj.sql,
            "parameters": list(obj.parameters or []),
            "tags": list(obj.tags or []),
            "options": dict(obj.options or {}),
            "timeout": obj.timeout,
            "is_draft": obj.is_draft,
            "visualizations": [self._visualization(ctx, viz) for viz in self._visualizations(ctx, obj.id)],
        }
        return body

    def associations(self, ctx: ExportContext, obj: Query) -> list[tuple[str, int]]:
        return [("data_source", obj.data_source_id)]

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Query:
        known_fields(body, _FIELDS, self.name)
        fields = self._fields(ctx, body)
        query = ctx.services.queries.create(ctx.principal, **fields)
        self._sync_visualizations(ctx, query, body, created=True)
        return query

    def update(self, ctx: ImportContext, obj: Query, body: dict[str, Any]) -> Query:
        known_fields(body, _FIELDS, self.name)
        fields = self._fields(ctx, body)
        query = ctx.services.queries.update(ctx.principal, obj.id, **fields)
        self._sync_visualizations(ctx, query, body)
        return query

    def remember(self, ctx: ImportContext, obj: Query, body: dict[str, Any], document_guid: Any) -> None:
        super().remember(ctx, obj, body, document_guid)
        by_name = {viz.name: viz for viz in self._visualizations(ctx, obj.id)}
        documented = body.get("visualizations") or []
        for entry in documented if isinstance(documented, list) else []:
            viz = by_name.get(str(entry.get("name"))) if isinstance(entry, dict) else None
            if viz is not None:
                keys = (viz.uuid, guid_of(entry.get("guid"), "visualization.guid"), (obj.name, viz.name))
                ctx.remember("visualization", viz.id, *keys)
        for viz in by_name.values():
            ctx.remember("visualization", viz.id, viz.uuid, (obj.name, viz.name))

    # ----- helpers -------------------------------------------------------------------------
    def _fields(self, ctx: ImportContext, body: dict[str, Any]) -> dict[str, Any]:
        fields = {key: body[key] for key in _COPIED if key in body}
        if "data_source" in body:
            fields["data_source_id"] = ctx.resolve("data_source", body["data_source"], "query.data_source")
        return fields

    def _visualizations(self, ctx: AssetContext, query_id: int) -> list[Visualization]:
        found = ctx.services.visualizations.for_queries(ctx.principal, [query_id])
        return sorted(found.get(query_id, []), key=lambda viz: viz.id)

    def _visualization(self, ctx: ExportContext, viz: Visualization) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "guid": str(viz.uuid),
            "name": viz.name,
            "type": viz.type,
            "description": viz.description,
            "options": dict(viz.options or {}),
        }
        if ctx.permissions:
            entry["permissions"] = exported_permissions(ctx, "visualization", viz.id)
        return entry

    def _sync_visualizations(
        self, ctx: ImportContext, query: Query, body: dict[str, Any], *, created: bool = False
    ) -> None:
        """Make the query's visualizations those of the document: matched by guid, then name;
        missing ones created, unlisted ones deleted (with the widgets that show them). On a query
        just created every visualization takes its document's guid (the table a new query starts
        with is matched by name)."""
        if "visualizations" not in body:
            return
        entries = body["visualizations"]
        if not isinstance(entries, list):
            raise InvalidInputError("query.visualizations", "a list")
        service = ctx.services.visualizations
        current = self._visualizations(ctx, query.id)
        kept: set[int] = set()
        for position, entry in enumerate(entries):
            where = f"query.visualizations[{position}]"
            if not isinstance(entry, dict):
                raise InvalidInputError(where, "a mapping")
            known_fields(entry, _VIZ_FIELDS, where)
            guid = None if ctx.create_new else guid_of(entry.get("guid"), f"{where}.guid")
            match = next((v for v in current if guid is not None and v.uuid == guid), None) or next(
                (v for v in current if v.id not in kept and v.name == entry.get("name")), None
            )
            changes = {key: entry[key] for key in ("name", "type", "description", "options") if key in entry}
            if match is None:
                viz = service.create(ctx.principal, query_id=query.id, **changes)
                ctx.adopt_guid(Visualization, viz.id, guid)
            else:
                viz = service.update(ctx.principal, match.id, **changes) if changes else match
                if created:
                    ctx.adopt_guid(Visualization, viz.id, guid)
            kept.add(viz.id)
            if "permissions" in entry:
                apply_permissions(ctx, "visualization", viz.id, entry["permissions"], f"{where}.permissions")
        for viz in current:
            if viz.id not in kept:
                service.delete(ctx.principal, viz.id)
