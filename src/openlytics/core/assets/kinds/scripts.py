"""Script objects as documents (not built yet: see docs/objects-as-code.md)."""

from __future__ import annotations

from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.kinds.base import AssetKind
from openlytics.core.errors import InvalidInputError
from openlytics.store.models import Script


class ScriptKind(AssetKind):
    """Placeholder until the kind is built: exports nothing, refuses documents."""

    name = "script"
    model = Script
    share_kind = None

    def ids(self, ctx: AssetContext) -> list[int]:
        return []

    def get(self, ctx: AssetContext, object_id: int) -> Any:
        raise InvalidInputError(self.name, "this kind cannot be exported yet")

    def body(self, ctx: ExportContext, obj: Any) -> dict[str, Any]:
        raise InvalidInputError(self.name, "this kind cannot be exported yet")

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Any:
        raise InvalidInputError(self.name, "this kind cannot be imported yet")

    def update(self, ctx: ImportContext, obj: Any, body: dict[str, Any]) -> Any:
        raise InvalidInputError(self.name, "this kind cannot be imported yet")
