"""Event types as documents: how a kind of event maps onto an output table.

The body holds the type's own mapping mode (null: the organization's default), its state, schema
(null: the output's default) and table, the field tree with each field's mapping (`fieldName`,
`fields`, `mapping` as `EventTypeService.to_document` shows them; the value types seen are not
part of it) and its consolidation settings, plus a reference to the input its events come from.
An event type is named by its events, so its name is its identity: it cannot be renamed, and a
document whose guid is unknown here stands for the event type of the same name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from openlytics.core.assets.context import AssetContext, DependencyFailedError, ExportContext, ImportContext
from openlytics.core.assets.documents import reference
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.core.pipeline.event_types import MODES, state_of
from openlytics.store.models import EventType, PipelineInput

_FIELDS = frozenset({"name", "input", "mapping_mode", "state", "schema", "table", "fields", "consolidation"})
_STATES = ("MAPPED", "UNMAPPED", "DISCARDED")
# Where the service's field names are in a document body.
_BODY_FIELD = {
    "mapping.tableName": "table",
    "mapping.schema": "schema",
    "mapping": "state",
    "mappingMode": "mapping_mode",
}


class EventTypeKind(AssetKind):
    """An event type of the organization's pipeline and its mapping."""

    name = "event_type"
    model = EventType
    share_kind = None
    unique_names = True

    def get(self, ctx: AssetContext, object_id: int) -> EventType:
        with ctx.services.db.session() as s:
            stmt = select(EventType.name).where(
                EventType.id == object_id, EventType.org_id == ctx.principal.org_id
            )
            name = s.scalar(stmt)
        if name is None:
            raise NotFoundError("event type", object_id)
        return ctx.services.event_types.get(ctx.principal, name)

    def body(self, ctx: ExportContext, obj: EventType) -> dict[str, Any]:
        source = self._input(ctx, obj)
        shown = ctx.services.event_types.to_document(obj)
        return {
            "name": obj.name,
            "input": reference(source.name, source.uuid, fqn=ctx.fqn) if source is not None else None,
            "mapping_mode": obj.mapping_mode,
            "state": state_of(obj),
            "schema": obj.schema_name,
            "table": obj.table_name,
            "fields": shown["fields"],
            "consolidation": shown["consolidation"],
        }

    def associations(self, ctx: ExportContext, obj: EventType) -> list[tuple[str, int]]:
        source = self._input(ctx, obj)
        return [("pipeline_input", source.id)] if source is not None else []

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> EventType:
        known_fields(body, _FIELDS, self.name)
        name = text_field(body, "name", self.name, required=True) or ""
        try:
            ctx.services.event_types.get(ctx.principal, name)
        except NotFoundError:
            pass
        else:
            raise ConflictError(f"an event type named {name!r} already exists", name=name)
        return self._define(
            ctx,
            name,
            body,
            discarded=False,
            table=None,
            fields=[],
            input_id=None,
            consolidation={},
            mapping_mode=None,
            schema=None,
        )

    def update(self, ctx: ImportContext, obj: EventType, body: dict[str, Any]) -> EventType:
        known_fields(body, _FIELDS, self.name)
        name = text_field(body, "name", self.name)
        if name is not None and name != obj.name:
            raise InvalidInputError(
                "event_type.name", f"an event type is named by its events and cannot be renamed ({obj.name})"
            )
        current = ctx.services.event_types.to_document(obj)
        return self._define(
            ctx,
            obj.name,
            body,
            discarded=obj.is_discarded,
            table=obj.table_name,
            fields=current["fields"],
            input_id=obj.input_id,
            consolidation=current["consolidation"],
            mapping_mode=obj.mapping_mode,
            schema=obj.schema_name,
        )

    # ----- helpers -------------------------------------------------------------------------
    def _input(self, ctx: AssetContext, obj: EventType) -> PipelineInput | None:
        """The input the type's events come from, unless it was removed."""
        if obj.input_id is None:
            return None
        try:
            source: PipelineInput = ctx.kinds["pipeline_input"].get(ctx, obj.input_id)
        except NotFoundError:
            return None
        return source

    def _define(self, ctx: ImportContext, name: str, body: dict[str, Any], **current: Any) -> EventType:
        """Apply the fields the body gives over the `current` values, through the service."""
        table = text_field(body, "table", self.name) if "table" in body else current["table"]
        schema = text_field(body, "schema", self.name) if "schema" in body else current["schema"]
        discarded = current["discarded"]
        state = body.get("state")
        if state is not None:
            if state not in _STATES:
                raise InvalidInputError("event_type.state", f"one of {', '.join(_STATES)}")
            discarded = state == "DISCARDED"
            if state == "MAPPED" and not table:
                raise InvalidInputError("event_type.table", "a MAPPED event type needs a table")
            if state == "UNMAPPED" and table:
                raise InvalidInputError("event_type.state", "an event type with a table is MAPPED")
        mode = body["mapping_mode"] if "mapping_mode" in body else current["mapping_mode"]
        if mode is not None and mode not in MODES:
            raise InvalidInputError("event_type.mapping_mode", f"null or one of {', '.join(MODES)}")
        fields = body["fields"] if "fields" in body else current["fields"]
        if not isinstance(fields, list):
            raise InvalidInputError("event_type.fields", "a list of {fieldName, fields, mapping}")
        consolidation = body["consolidation"] if "consolidation" in body else current["consolidation"]
        if not isinstance(consolidation, dict):
            raise InvalidInputError("event_type.consolidation", "a mapping")
        input_id = current["input_id"]
        if "input" in body:
            ref = body["input"]
            input_id = None if ref is None else _resolve_input(ctx, ref)
        document: dict[str, Any] = {
            "mapping": {"isDiscarded": discarded, "tableName": table or "", "schema": schema},
            "fields": fields,
        }
        if mode is None:
            document["usingDefaultMappingMode"] = True
        else:
            document["mappingMode"] = mode
        try:
            return ctx.services.event_types.define(
                ctx.principal, name, document, input_id=input_id, consolidation=consolidation
            )
        except InvalidInputError as error:
            # Name the field as the document does (`event_type.fields.a.mapping`, not `fields.a...`).
            field = _BODY_FIELD.get(error.field, error.field)
            raise InvalidInputError(f"event_type.{field}", error.reason) from None


def _resolve_input(ctx: ImportContext, ref: Any) -> int:
    """The input a reference names; by name, the live input (a removed one may share its name)."""
    try:
        return ctx.resolve("pipeline_input", ref, "event_type.input")
    except DependencyFailedError:
        raise
    except InvalidInputError:
        name = ref.get("name") if isinstance(ref, dict) else ref
        live = [i.id for i in ctx.services.inputs.list(ctx.principal) if i.name == name]
        if not live:
            raise
        return live[0]
