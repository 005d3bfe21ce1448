"""Pipeline inputs as documents: name, type, configuration (secrets masked), paused, sleep time.

A webhook's token is its credential: it is never exported, and an imported REST input gets a
token of its own. Secret configuration values are exported masked; importing the mask back keeps
the stored secret, and creating an input from a masked value is refused (the importer must give
the secret)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline.input_sources import MASK, is_secret_key
from openlytics.store.models import PipelineInput

_FIELDS = frozenset({"name", "type", "configuration", "paused", "sleep_seconds"})
# Shown in a webhook's configuration, made from its token: never part of a document.
_WEBHOOK_KEYS = ("token", "url")
# The service's names of a body's own fields (the others are configuration keys).
_SERVICE_FIELDS = {
    "name": "name",
    "type": "type",
    "configuration": "configuration",
    "sleep_time": "sleep_seconds",
}


class PipelineInputKind(AssetKind):
    """A source of events of the organization's pipeline (webhook, file drop, table, ...)."""

    name = "pipeline_input"
    model = PipelineInput
    share_kind = "pipeline_input"
    unique_names = True

    def get(self, ctx: AssetContext, object_id: int) -> PipelineInput:
        return ctx.services.inputs.get(ctx.principal, object_id)

    def existing(self, stmt: Any) -> Any:
        return self._live(stmt)

    def _live(self, stmt: Any) -> Any:
        return stmt.where(PipelineInput.deleted_at.is_(None))

    def body(self, ctx: ExportContext, obj: PipelineInput) -> dict[str, Any]:
        return {
            "name": obj.name,
            "type": obj.type,
            "configuration": _configuration(ctx, obj),
            "paused": obj.paused,
            "sleep_seconds": obj.sleep_seconds,
        }

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> PipelineInput:
        known_fields(body, _FIELDS, self.name)
        name = text_field(body, "name", self.name, required=True) or ""
        kind = text_field(body, "type", self.name, required=True) or ""
        configuration = _documented_configuration(body, kind)
        masked = sorted(key for key, value in configuration.items() if value == MASK and is_secret_key(key))
        if masked:
            raise InvalidInputError(
                f"pipeline_input.configuration.{masked[0]}",
                "a secret is masked in exports: give its value to create the input",
            )
        paused, sleep_seconds = _paused(body), _sleep_seconds(body)
        service = ctx.services.inputs
        with _named_as_in_documents():
            record = service.create(ctx.principal, name=name, type=kind, configuration=configuration)
            if paused:
                record = service.set_paused(ctx.principal, record.id, True)
            if sleep_seconds is not None and sleep_seconds != record.sleep_seconds:
                record = service.set_sleep_time(ctx.principal, record.id, sleep_seconds)
        return record

    def update(self, ctx: ImportContext, obj: PipelineInput, body: dict[str, Any]) -> PipelineInput:
        known_fields(body, _FIELDS, self.name)
        kind = text_field(body, "type", self.name)
        if kind is not None and kind.strip().upper() != obj.type:
            raise InvalidInputError(
                "pipeline_input.type", f"an input's type cannot be changed ({obj.type}); create another input"
            )
        name = text_field(body, "name", self.name)
        paused, sleep_seconds = _paused(body), _sleep_seconds(body)
        service = ctx.services.inputs
        configuration = None
        if "configuration" in body:
            configuration = _documented_configuration(body, obj.type)
            stored = obj.configuration or {}
            for key, value in sorted(configuration.items()):
                # The mask keeps a stored secret; where none is stored it would become the secret.
                if value == MASK and is_secret_key(key) and stored.get(key) != MASK:
                    raise InvalidInputError(
                        f"pipeline_input.configuration.{key}",
                        "a secret is masked in exports and none is stored: give its value",
                    )
            if configuration == _documented_configuration({"configuration": stored}, obj.type):
                configuration = None  # unchanged: a database input is not connected to again
        record = obj
        with _named_as_in_documents():
            if (name is not None and name.strip() != obj.name) or configuration is not None:
                record = service.update(ctx.principal, obj.id, name=name, configuration=configuration)
            if paused is not None and paused != record.paused:
                record = service.set_paused(ctx.principal, obj.id, paused)
            if sleep_seconds is not None and sleep_seconds != record.sleep_seconds:
                record = service.set_sleep_time(ctx.principal, obj.id, sleep_seconds)
        return record


@contextmanager
def _named_as_in_documents() -> Iterator[None]:
    """Name the service's invalid fields by their path in the document (`path` is
    `pipeline_input.configuration.path`)."""
    try:
        yield
    except InvalidInputError as error:
        if error.field.startswith("pipeline_input"):
            raise
        field = _SERVICE_FIELDS.get(error.field, f"configuration.{error.field}")
        raise InvalidInputError(f"pipeline_input.{field}", error.reason) from None


def _configuration(ctx: AssetContext, obj: PipelineInput) -> dict[str, Any]:
    """The configuration as shown to users, without the webhook's token and URL."""
    shown = ctx.services.inputs.shown_configuration(ctx.principal, obj)
    if obj.type == "REST":
        for key in _WEBHOOK_KEYS:
            shown.pop(key, None)
    return shown


def _documented_configuration(body: dict[str, Any], kind: str) -> dict[str, Any]:
    configuration = body.get("configuration")
    if configuration is None:
        return {}
    if not isinstance(configuration, dict):
        raise InvalidInputError("pipeline_input.configuration", "a mapping")
    if kind.strip().upper() == "REST":
        # A webhook's token is made by the server (and never exported): the document's is ignored.
        return {k: v for k, v in configuration.items() if k not in _WEBHOOK_KEYS}
    return dict(configuration)


def _paused(body: dict[str, Any]) -> bool | None:
    paused = body.get("paused")
    if paused is not None and not isinstance(paused, bool):
        raise InvalidInputError("pipeline_input.paused", "true or false")
    return paused


def _sleep_seconds(body: dict[str, Any]) -> float | None:
    seconds = body.get("sleep_seconds")
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidInputError("pipeline_input.sleep_seconds", "a number of seconds")
    return float(seconds)
