"""Objects as code: export objects as documents, plan and import documents (docs/objects-as-code.md).

An import is all-or-nothing by default: every document is applied through the core services
inside one unit of work (one metadata transaction) that is committed only when every document
succeeded. To report every failing document, not just the first, a failed pass is rolled back
and run again without the documents that failed (and those that refer to them) until a pass
succeeds; `apply=False` (validate only, or a plan) never commits any pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openlytics.core.assets.context import ExportContext, ImportContext
from openlytics.core.assets.documents import KIND_ORDER, ParsedDocument, guid_of, split
from openlytics.core.assets.kinds import default_kinds
from openlytics.core.assets.kinds.base import AssetKind
from openlytics.core.assets.permissions import apply_permissions, exported_permissions
from openlytics.core.assets.services import AssetServices
from openlytics.core.errors import ConflictError, NotFoundError, OpenlyticsError, PermissionDeniedError
from openlytics.core.principal import Action, Principal
from openlytics.store.models import Visualization


@dataclass(frozen=True)
class ExportedAsset:
    """One exported object: its kind, guid and name, and its document."""

    kind: str
    guid: UUID
    name: str
    document: dict[str, Any]


@dataclass
class ImportItem:
    """What an import did (or would do) with one document, in input order."""

    index: int
    kind: str | None = None
    name: str = ""
    guid: UUID | None = None
    action: str = "create"  # create | update | unchanged
    changes: list[str] = field(default_factory=list)
    error: OpenlyticsError | None = None

    @property
    def ok(self) -> bool:
        """Whether the document was (or would be) applied."""
        return self.error is None


@dataclass
class ImportReport:
    """Every document's outcome, and whether the changes were committed."""

    items: list[ImportItem]
    applied: bool

    @property
    def ok(self) -> bool:
        """Whether every document succeeded."""
        return all(item.ok for item in self.items)


class AssetService:
    """Export, plan and import objects of every kind as documents."""

    def __init__(self, services: AssetServices, kinds: Mapping[str, AssetKind] | None = None) -> None:
        self.services = services
        self.kinds: dict[str, AssetKind] = dict(kinds or default_kinds())

    # ----- export ------------------------------------------------------------------------------
    def locate(self, principal: Principal, guid: Any) -> tuple[str, int]:
        """The kind and id of the object a guid names (a visualization's guid names its query);
        NotFoundError when the caller cannot read it."""
        as_uuid = guid_of(guid, "guid")
        if as_uuid is None:
            raise NotFoundError("object", guid)
        ctx = ExportContext(principal, self.services, self.kinds)
        with self.services.db.session() as s:
            for kind in self.kinds.values():
                model = kind.model
                stmt = select(model.id).where(model.org_id == principal.org_id, model.uuid == as_uuid)
                found = s.scalar(stmt)
                if found is not None:
                    kind.get(ctx, found)
                    return kind.name, found
            viz = s.scalar(
                select(Visualization).where(
                    Visualization.org_id == principal.org_id, Visualization.uuid == as_uuid
                )
            )
        if viz is not None and "query" in self.kinds:
            self.services.visualizations.get(principal, viz.id)
            return "query", viz.query_id
        raise NotFoundError("object", guid)

    def export(
        self,
        principal: Principal,
        guids: Sequence[Any],
        *,
        associated: bool = False,
        fqn: bool = True,
        permissions: bool = False,
    ) -> list[ExportedAsset]:
        """The documents of the objects named by guid, in the order asked; with `associated`, each
        followed by the objects it refers to (recursively), each object once."""
        ctx = ExportContext(principal, self.services, self.kinds, fqn=fqn, permissions=permissions)
        exported: list[ExportedAsset] = []
        seen: set[tuple[str, int]] = set()
        for guid in guids:
            kind, object_id = self.locate(principal, guid)
            self._export_tree(ctx, kind, object_id, exported, seen, associated=associated)
        return exported

    def export_all(
        self,
        principal: Principal,
        kinds: Iterable[str] | None = None,
        *,
        fqn: bool = True,
        permissions: bool = False,
    ) -> list[ExportedAsset]:
        """Every object the caller can read, of the kinds asked (all by default), in the order an
        import applies them."""
        wanted = list(kinds) if kinds is not None else list(KIND_ORDER)
        for name in wanted:
            if name not in self.kinds:
                raise NotFoundError("kind", name)
        ctx = ExportContext(principal, self.services, self.kinds, fqn=fqn, permissions=permissions)
        exported: list[ExportedAsset] = []
        for name in (k for k in KIND_ORDER if k in wanted):
            kind = self.kinds[name]
            try:
                ids = kind.ids(ctx)
            except PermissionDeniedError:
                continue
            for object_id in ids:
                try:
                    exported.append(self._export_one(ctx, kind, object_id))
                except (NotFoundError, PermissionDeniedError):
                    continue  # hidden from the caller
        return exported

    def _export_tree(
        self,
        ctx: ExportContext,
        kind: str,
        object_id: int,
        exported: list[ExportedAsset],
        seen: set[tuple[str, int]],
        *,
        associated: bool,
    ) -> None:
        if (kind, object_id) in seen:
            return
        seen.add((kind, object_id))
        handler = self.kinds[kind]
        exported.append(self._export_one(ctx, handler, object_id))
        if associated:
            obj = handler.get(ctx, object_id)
            for dep_kind, dep_id in handler.associations(ctx, obj):
                if dep_kind in self.kinds:
                    self._export_tree(ctx, dep_kind, dep_id, exported, seen, associated=True)

    def _export_one(self, ctx: ExportContext, kind: AssetKind, object_id: int) -> ExportedAsset:
        obj = kind.get(ctx, object_id)
        body = kind.body(ctx, obj)
        if ctx.permissions and kind.share_kind is not None:
            body["permissions"] = exported_permissions(ctx, kind.share_kind, obj.id)
        document = {"guid": str(obj.uuid), kind.name: body}
        return ExportedAsset(kind.name, obj.uuid, obj.name, document)

    # ----- import ------------------------------------------------------------------------------
    def import_documents(
        self,
        principal: Principal,
        documents: Sequence[Any],
        *,
        create_new: bool = False,
        apply: bool = True,
        partial: bool = False,
    ) -> ImportReport:
        """Import documents: update the objects their guids name, create the others.

        `create_new`: always create, with new guids. `apply=False`: validate and plan only.
        `partial`: commit the documents that succeed even when others fail (default: nothing is
        committed unless every document succeeds). Needs the right to write (viewers cannot
        import); each change is then checked by the service that makes it."""
        principal.require(Action.WRITE, "objects (import)")
        items = [ImportItem(index) for index in range(len(documents))]
        parsed: dict[int, ParsedDocument] = {}
        for index, document in enumerate(documents):
            try:
                doc = split(index, document)
            except OpenlyticsError as error:
                items[index].error = error
                continue
            parsed[index] = doc
            items[index].kind, items[index].name = doc.kind, doc.name
        order = sorted(parsed, key=lambda i: (KIND_ORDER.index(parsed[i].kind), i))
        failed: set[tuple[str, Any]] = set()
        committed = False
        while True:
            commit = apply and (partial or all(item.ok for item in items))
            with self.services.db.unit_of_work(commit=commit) as unit:
                ctx = ImportContext(
                    principal, self.services, self.kinds, unit=unit, create_new=create_new, failed=failed
                )
                failure = self._pass(ctx, [parsed[i] for i in order], items)
                if failure is not None:
                    unit.discard()
            if failure is None:
                committed = commit
                break
            index, failure_error = failure
            items[index].error = failure_error
            order.remove(index)
            doc = parsed[index]
            failed.update({(doc.kind, doc.guid), (doc.kind, doc.name)} - {(doc.kind, None), (doc.kind, "")})
        applied = committed and any(item.ok and item.action != "unchanged" for item in items)
        return ImportReport(items, applied)

    def _pass(
        self, ctx: ImportContext, docs: list[ParsedDocument], items: list[ImportItem]
    ) -> tuple[int, OpenlyticsError] | None:
        """Apply documents in order; the first failure stops the pass."""
        for doc in docs:
            try:
                self._apply(ctx, doc, items[doc.index])
            except OpenlyticsError as error:
                return doc.index, error
            except IntegrityError as error:
                return doc.index, ConflictError(f"conflicts with an existing object: {error.orig}")
        return None

    def _apply(self, ctx: ImportContext, doc: ParsedDocument, item: ImportItem) -> None:
        kind = self.kinds[doc.kind]
        body = dict(doc.body)
        permissions = body.pop("permissions", None) if kind.share_kind is not None else None
        existing_id = None
        if not ctx.create_new and doc.guid is not None:
            existing_id = ctx.existing_id(kind.name, guid=doc.guid)
        if existing_id is None:
            existing_id = kind.match(ctx, body)
        if existing_id is None:
            item.action, item.changes = "create", sorted(body)
            obj = kind.create(ctx, body)
            ctx.adopt_guid(kind.model, obj.id, doc.guid)
        else:
            current = kind.get(ctx, existing_id)
            as_exported = ExportContext(ctx.principal, self.services, self.kinds, fqn=False, permissions=True)
            before = kind.body(as_exported, current)
            item.changes = [key for key in body if _differs(before.get(key), body[key])]
            obj = kind.update(ctx, current, body) if item.changes else current
            item.action = "update" if item.changes else "unchanged"
        if permissions is not None:
            assert kind.share_kind is not None
            before_shares = exported_permissions(ctx, kind.share_kind, obj.id)
            apply_permissions(ctx, kind.share_kind, obj.id, permissions, f"{kind.name}.permissions")
            if exported_permissions(ctx, kind.share_kind, obj.id) != before_shares:
                item.changes.append("permissions")
                if item.action == "unchanged":
                    item.action = "update"
        kind.remember(ctx, obj, body, doc.guid)
        fresh = ctx.session.get(kind.model, obj.id)
        item.guid = fresh.uuid if fresh is not None else obj.uuid
        item.name = fresh.name if fresh is not None else doc.name


def _differs(current: Any, wanted: Any) -> bool:
    """Whether a document value asks for a change: mappings compare only the keys the document
    gives (so `fqn` and `guid` references and omitted fields do not count); lists pairwise."""
    if isinstance(wanted, Mapping):
        if not isinstance(current, Mapping):
            return True
        return any(_differs(current.get(k), v) for k, v in wanted.items() if k not in ("fqn", "guid"))
    if isinstance(wanted, list):
        if not isinstance(current, list) or len(current) != len(wanted):
            return True
        return any(_differs(c, w) for c, w in zip(current, wanted, strict=True))
    return bool(current != wanted)
