"""Scripts as documents: name, code, kind, options and resource limits. What a script stored
between its runs (its state) and its runs belong to the server and are never exported."""

from __future__ import annotations

from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.store.models import Script

_COPIED = ("name", "code", "kind", "options", "cpu_seconds", "wall_seconds", "memory_mb")
_FIELDS = frozenset(_COPIED)


class ScriptKind(AssetKind):
    """User Python run on the server in the sandbox."""

    name = "script"
    model = Script

    def get(self, ctx: AssetContext, object_id: int) -> Script:
        return ctx.services.scripts.get(ctx.principal, object_id)

    def body(self, ctx: ExportContext, obj: Script) -> dict[str, Any]:
        return {
            "name": obj.name,
            "code": obj.code,
            "kind": obj.kind,
            "options": dict(obj.options or {}),
            "cpu_seconds": obj.cpu_seconds,
            "wall_seconds": obj.wall_seconds,
            "memory_mb": obj.memory_mb,
        }

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Script:
        known_fields(body, _FIELDS, self.name)
        fields = {key: body[key] for key in _COPIED if key in body}
        fields.pop("name", None)
        fields.pop("code", None)
        return ctx.services.scripts.create(
            ctx.principal,
            name=text_field(body, "name", self.name, required=True),
            code=text_field(body, "code", self.name, required=True),
            **fields,
        )

    def update(self, ctx: ImportContext, obj: Script, body: dict[str, Any]) -> Script:
        known_fields(body, _FIELDS, self.name)
        fields = {key: body[key] for key in _COPIED if key in body}
        return ctx.services.scripts.update(ctx.principal, obj.id, **fields) if fields else obj
