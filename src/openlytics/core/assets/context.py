"""What a kind handler works with while exporting or importing documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlytics.core.assets.documents import guid_of
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.principal import Principal

if TYPE_CHECKING:
    from openlytics.core.assets.kinds.base import AssetKind
    from openlytics.core.assets.services import AssetServices
    from openlytics.store.db import UnitOfWork


@dataclass
class AssetContext:
    """Who is asking, the services that do the work, and the kind handlers."""

    principal: Principal
    services: AssetServices
    kinds: Mapping[str, AssetKind]


@dataclass
class ExportContext(AssetContext):
    """Who exports, and how references and permissions are written."""

    fqn: bool = True
    permissions: bool = False


class DependencyFailedError(InvalidInputError):
    """A document refers to another document of the same import that failed."""

    def __init__(self, field: str, kind: str, name: str) -> None:
        super().__init__(field, f"refers to the {kind} {name!r} of this import, which failed")


@dataclass
class ImportContext(AssetContext):
    """One pass of an import: the caller, the shared transaction, and what this pass has made.

    `imported` maps (kind, guid) and (kind, name) of every object applied so far in this pass to
    its id, so later documents refer to earlier ones whatever guid they were given; `failed` holds
    the same keys of documents that failed in an earlier pass."""

    unit: UnitOfWork | None = None
    create_new: bool = False
    imported: dict[tuple[str, Any], int] = field(default_factory=dict)
    failed: set[tuple[str, Any]] = field(default_factory=set)

    @property
    def session(self) -> Session:
        """The import's one transaction (every service call inside joins it)."""
        assert self.unit is not None, "an import runs inside a unit of work"
        return self.unit.session

    def remember(self, kind: str, object_id: int, *keys: Any) -> None:
        """Record an applied object under its guids and names."""
        for key in keys:
            if key is not None and key != "":
                self.imported[(kind, key)] = object_id

    def adopt_guid(self, model: Any, object_id: int, guid: UUID | None) -> None:
        """Give a newly created object the document's guid, unless another object (of any
        organization) holds it: then it keeps the guid it was created with."""
        if guid is None or self.create_new:
            return
        if self.session.scalar(select(model.id).where(model.uuid == guid)) is None:
            obj = self.session.get(model, object_id)
            if obj is not None:
                obj.uuid = guid
                self.session.flush()

    def existing_id(self, kind: str, *, guid: UUID | None = None, name: str | None = None) -> int | None:
        """The id of an object of the caller's organization by guid or by name (lowest id first);
        None when there is none. Visibility is checked by the caller (`resolve`)."""
        handler = self.kinds[kind]
        model = handler.model
        stmt = handler.existing(select(model.id).where(model.org_id == self.principal.org_id))
        if guid is not None:
            stmt = stmt.where(model.uuid == guid)
        elif name is not None:
            stmt = stmt.where(model.name == name)
        else:
            return None
        return self.session.scalars(stmt.order_by(model.id).limit(1)).first()

    def resolve(self, kind: str, ref: Any, field: str) -> int:
        """The id of the object a reference names: this import's objects first (by guid, then
        name), then the organization's (by guid, then name), as far as the caller may read."""
        if isinstance(ref, str):
            ref = {"name": ref}
        if not isinstance(ref, Mapping) or not (ref.get("name") or ref.get("fqn")):
            raise InvalidInputError(field, f"a reference to a {kind}: {{name, fqn}}")
        guid = guid_of(ref.get("fqn"), f"{field}.fqn")
        name = ref.get("name") if isinstance(ref.get("name"), str) else None
        handler = self.kinds[kind]
        for key in (guid, name):
            if key is None:
                continue
            if (kind, key) in self.imported:
                return self.imported[(kind, key)]
            if (kind, key) in self.failed:
                raise DependencyFailedError(field, kind, str(name or key))
            if isinstance(key, UUID):
                found = self.existing_id(kind, guid=key)
            else:
                found = self.existing_id(kind, name=key)
            if found is not None:
                try:
                    handler.get(self, found)
                except NotFoundError:
                    continue
                return found
        raise InvalidInputError(field, f"no {kind} {name or str(guid)!r} in this organization or import")
