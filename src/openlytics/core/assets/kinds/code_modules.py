"""Code Engine modules as documents: a module's name and Python source.

`main` holds `transform(event)`; other modules are imported from it by name, so a module's name is
its identity: it cannot be renamed, and a document whose guid is unknown here stands for the
module of the same name. The Code Engine's secrets are never exported (transforms read them by
name; the importing server keeps its own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.store.models import CodeModule

_FIELDS = frozenset({"name", "code"})


class CodeModuleKind(AssetKind):
    """A named Python module of the organization's Code Engine."""

    name = "code_module"
    model = CodeModule
    share_kind = None
    unique_names = True

    def get(self, ctx: AssetContext, object_id: int) -> CodeModule:
        with ctx.services.db.session() as s:
            name = s.scalar(
                select(CodeModule.name).where(
                    CodeModule.id == object_id, CodeModule.org_id == ctx.principal.org_id
                )
            )
        if name is None:
            raise NotFoundError("code module", object_id)
        return ctx.services.code_engine.module(ctx.principal, name)

    def body(self, ctx: ExportContext, obj: CodeModule) -> dict[str, Any]:
        return {"name": obj.name, "code": obj.code}

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> CodeModule:
        known_fields(body, _FIELDS, self.name)
        name = text_field(body, "name", self.name, required=True) or ""
        code = text_field(body, "code", self.name, required=True) or ""
        try:
            ctx.services.code_engine.module(ctx.principal, name)
        except NotFoundError:
            return self._save(ctx, name, code)
        raise ConflictError(f"a code module named {name!r} already exists", name=name)

    def update(self, ctx: ImportContext, obj: CodeModule, body: dict[str, Any]) -> CodeModule:
        known_fields(body, _FIELDS, self.name)
        name = text_field(body, "name", self.name)
        if name is not None and name != obj.name:
            raise InvalidInputError(
                "code_module.name", f"a module is imported by its name and cannot be renamed ({obj.name})"
            )
        code = text_field(body, "code", self.name)
        if code is None or code == obj.code:
            return obj
        return self._save(ctx, obj.name, code)

    def _save(self, ctx: ImportContext, name: str, code: str) -> CodeModule:
        try:
            [saved] = ctx.services.code_engine.set_modules(ctx.principal, {name: code})
        except InvalidInputError as error:
            # The service says `modules` (a bad name) or `modules.main` (its code).
            field = "code_module.name" if error.field == "modules" else "code_module.code"
            raise InvalidInputError(field, error.reason) from None
        return saved
