"""Schedules as documents: what fires (a query refresh, a script run, a dataset rebuild), on what
target, and when (an interval or a cron expression in a time zone)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.documents import reference
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.store.models import Schedule

# The schedule kinds a document may hold, and the kind of object each one's target is.
TARGET_KINDS = {"query_refresh": "query", "script_run": "script", "dataset_rebuild": "dataset"}
_FIELDS = frozenset(
    {"name", "kind", "target", "interval_seconds", "cron", "timezone", "starts_at", "until", "enabled"}
    | {"payload"}
)
_TIMING = ("interval_seconds", "cron", "timezone", "starts_at", "until", "enabled", "payload")


class ScheduleKind(AssetKind):
    """A recurring trigger of a query refresh, a script run or a dataset rebuild."""

    name = "schedule"
    model = Schedule

    def get(self, ctx: AssetContext, object_id: int) -> Schedule:
        schedule = ctx.services.schedules.get(ctx.principal, object_id)
        if schedule.kind not in TARGET_KINDS:
            raise NotFoundError("schedule", object_id)  # another feature's trigger, not a document
        # A schedule is written with its target: as hidden as the target is.
        ctx.kinds[TARGET_KINDS[schedule.kind]].get(ctx, schedule.target_id)
        return schedule

    def _live(self, stmt: Any) -> Any:
        return stmt.where(Schedule.kind.in_(sorted(TARGET_KINDS)))

    def body(self, ctx: ExportContext, obj: Schedule) -> dict[str, Any]:
        target = ctx.kinds[TARGET_KINDS[obj.kind]].get(ctx, obj.target_id)
        return {
            "name": obj.name,
            "kind": obj.kind,
            "target": reference(target.name, target.uuid, fqn=ctx.fqn),
            "interval_seconds": obj.interval_seconds,
            "cron": obj.cron,
            "timezone": obj.timezone,
            "starts_at": _iso(obj.starts_at),
            "until": _iso(obj.until),
            "enabled": obj.enabled,
            "payload": dict(obj.payload or {}),
        }

    def associations(self, ctx: ExportContext, obj: Schedule) -> list[tuple[str, int]]:
        return [(TARGET_KINDS[obj.kind], obj.target_id)]

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Schedule:
        known_fields(body, _FIELDS, self.name)
        kind = _kind(body)
        if body.get("target") is None:
            raise InvalidInputError("schedule.target", "required: a reference to the " + TARGET_KINDS[kind])
        fields = {key: body[key] for key in _TIMING if key in body}
        if fields.get("timezone") is None:
            fields.pop("timezone", None)
        if fields.get("enabled") is None:
            fields.pop("enabled", None)
        return ctx.services.schedules.create(
            ctx.principal,
            name=text_field(body, "name", self.name) or "",
            kind=kind,
            target_id=_target(ctx, kind, body),
            **fields,
        )

    def update(self, ctx: ImportContext, obj: Schedule, body: dict[str, Any]) -> Schedule:
        known_fields(body, _FIELDS, self.name)
        changes: dict[str, Any] = {key: body[key] for key in _TIMING if key in body}
        if "name" in body:
            changes["name"] = text_field(body, "name", self.name) or ""
        kind = obj.kind
        if "kind" in body:
            kind = _kind(body)
            if kind != obj.kind:
                if body.get("target") is None:
                    raise InvalidInputError("schedule.target", "give the target when changing the kind")
                changes["kind"] = kind
        if body.get("target") is not None:
            target_id = _target(ctx, kind, body)
            if target_id != obj.target_id or "kind" in changes:
                changes["target_id"] = target_id
        elif "target" in body:
            raise InvalidInputError("schedule.target", "a reference to the " + TARGET_KINDS[kind])
        return ctx.services.schedules.update(ctx.principal, obj.id, **changes) if changes else obj


def _kind(body: dict[str, Any]) -> str:
    kind = body.get("kind")
    if kind not in TARGET_KINDS:
        raise InvalidInputError("schedule.kind", f"one of {', '.join(TARGET_KINDS)}")
    return str(kind)


def _target(ctx: ImportContext, kind: str, body: dict[str, Any]) -> int:
    return ctx.resolve(TARGET_KINDS[kind], body["target"], "schedule.target")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
