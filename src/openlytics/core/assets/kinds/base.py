"""The interface every kind of object implements to be exported and imported as a document."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from sqlalchemy import select

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.errors import InvalidInputError, NotFoundError


class AssetKind(ABC):
    """One kind of object (`name` is its document key).

    Handlers read and write only through the core services (`ctx.services`), so an import obeys
    every validation and permission a direct call would; they never commit (the import's unit of
    work does)."""

    name: ClassVar[str]
    # The ORM model: has `id`, `uuid`, `org_id` and `name`.
    model: ClassVar[Any]
    # The kind in the sharing service, when objects of this kind can be shared.
    share_kind: ClassVar[str | None] = None
    # Whether a name is unique in an organization (and so identifies the object on any server).
    unique_names: ClassVar[bool] = False

    @abstractmethod
    def get(self, ctx: AssetContext, object_id: int) -> Any:
        """The object, through its service: NotFoundError when the caller may not read it."""

    @abstractmethod
    def body(self, ctx: ExportContext, obj: Any) -> dict[str, Any]:
        """The object's document body (without `permissions`, which the service adds)."""

    def associations(self, ctx: ExportContext, obj: Any) -> list[tuple[str, int]]:
        """The objects this one refers to, as (kind, id): exported with it when associated."""
        return []

    @abstractmethod
    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Any:
        """A new object from a document body."""

    def match(self, ctx: ImportContext, body: dict[str, Any]) -> int | None:
        """An existing object a document whose guid is unknown here stands for (None: create one):
        for kinds with `unique_names`, the readable object of the same name."""
        name = body.get("name")
        if not self.unique_names or ctx.create_new or not isinstance(name, str):
            return None
        found = ctx.existing_id(self.name, name=name.strip())
        if found is None:
            return None
        try:
            self.get(ctx, found)
        except NotFoundError:
            return None
        return found

    @abstractmethod
    def update(self, ctx: ImportContext, obj: Any, body: dict[str, Any]) -> Any:
        """Change an existing object to what the body says (fields the body leaves out stay)."""

    def remember(self, ctx: ImportContext, obj: Any, body: dict[str, Any], document_guid: Any) -> None:
        """Record what later documents of the import may refer to (the object; a query adds its
        visualizations)."""
        ctx.remember(self.name, obj.id, obj.uuid, document_guid, obj.name)

    def ids(self, ctx: AssetContext) -> list[int]:
        """Every object of the kind in the caller's organization (visibility is checked by `get`)."""
        with ctx.services.db.session() as s:
            stmt = select(self.model.id).where(self.model.org_id == ctx.principal.org_id)
            return list(s.scalars(self._live(stmt).order_by(self.model.id)))

    def existing(self, stmt: Any) -> Any:
        """Restrict the objects an import may update or refer to (default: all, archived ones
        included; a removed pipeline input is not there any more)."""
        return stmt

    def _live(self, stmt: Any) -> Any:
        """Restrict `ids` to objects that still exist for users (not archived or deleted)."""
        return stmt


def text_field(body: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """A string field of a body (None when absent); InvalidInputError when it is not a string."""
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInputError(f"{where}.{key}", "required")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{where}.{key}", "a string")
    return value


def known_fields(body: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    """Refuse fields a kind does not have (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(body) - allowed - {"permissions"})
    if unknown:
        raise InvalidInputError(f"{where}.{unknown[0]}", "unknown field")
