"""Alerts as documents: the condition (`options`: column, op, value) on a saved query's result,
how often a still-triggered alert notifies again (`rearm`), and whether it is muted. Its state and
subscribers belong to the server it runs on and are not exported."""

from __future__ import annotations

from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.documents import reference
from openlytics.core.assets.kinds.base import AssetKind, known_fields
from openlytics.core.errors import InvalidInputError
from openlytics.store.models import Alert

_FIELDS = frozenset({"name", "query", "options", "rearm", "muted"})
_COPIED = ("name", "options", "rearm", "muted")


class AlertKind(AssetKind):
    """A condition on a saved query's latest result."""

    name = "alert"
    model = Alert

    def get(self, ctx: AssetContext, object_id: int) -> Alert:
        return ctx.services.alerts.get(ctx.principal, object_id)

    def body(self, ctx: ExportContext, obj: Alert) -> dict[str, Any]:
        query = ctx.kinds["query"].get(ctx, obj.query_id)
        return {
            "name": obj.name,
            "query": reference(query.name, query.uuid, fqn=ctx.fqn),
            "options": dict(obj.options or {}),
            "rearm": obj.rearm,
            "muted": obj.muted,
        }

    def associations(self, ctx: ExportContext, obj: Alert) -> list[tuple[str, int]]:
        return [("query", obj.query_id)]

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Alert:
        known_fields(body, _FIELDS, self.name)
        if body.get("query") is None:
            raise InvalidInputError("alert.query", "required: a reference to the query")
        fields = self._fields(ctx, body)
        muted = fields.pop("muted", False)
        service = ctx.services.alerts
        alert = service.create(
            ctx.principal,
            name=fields.pop("name", None),
            query_id=fields.pop("query_id"),
            options=fields.pop("options", None),
            **fields,
        )
        if muted:  # creating never mutes: an alert starts by being heard
            alert = service.update(ctx.principal, alert.id, muted=muted)
        return alert

    def update(self, ctx: ImportContext, obj: Alert, body: dict[str, Any]) -> Alert:
        known_fields(body, _FIELDS, self.name)
        fields = self._fields(ctx, body)
        return ctx.services.alerts.update(ctx.principal, obj.id, **fields) if fields else obj

    def _fields(self, ctx: ImportContext, body: dict[str, Any]) -> dict[str, Any]:
        fields = {key: body[key] for key in _COPIED if key in body}
        if "query" in body:
            fields["query_id"] = ctx.resolve("query", body["query"], "alert.query")
        return fields
