"""Data sources as documents: name, kind, URL (password never exported) and options."""

from __future__ import annotations

from typing import Any

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.core.errors import InvalidInputError
from openlytics.core.sources import WAREHOUSE_KIND
from openlytics.store.models import DataSource

_FIELDS = frozenset({"name", "kind", "url", "options"})
_HIDDEN_PASSWORD = "***"  # noqa: S105 - what an exported URL shows instead of its password


class DataSourceKind(AssetKind):
    """An external database, or the organization's embedded warehouse (never created: a document
    of the warehouse kind always means the importing organization's own warehouse)."""

    name = "data_source"
    model = DataSource
    share_kind = "data_source"

    def get(self, ctx: AssetContext, object_id: int) -> DataSource:
        return ctx.services.sources.get(ctx.principal, object_id)

    def body(self, ctx: ExportContext, obj: DataSource) -> dict[str, Any]:
        body: dict[str, Any] = {"name": obj.name, "kind": obj.kind}
        url = ctx.services.sources.masked_url(obj)
        if url is not None:
            body["url"] = url
        body["options"] = dict(obj.options or {})
        return body

    def match(self, ctx: ImportContext, body: dict[str, Any]) -> int | None:
        if body.get("kind") == WAREHOUSE_KIND:
            return ctx.services.sources.default(ctx.principal).id
        return None

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> DataSource:
        known_fields(body, _FIELDS, self.name)
        if body.get("kind") == WAREHOUSE_KIND:
            raise InvalidInputError("data_source.kind", "the embedded warehouse cannot be created")
        url = _url(body, required=True)
        assert url is not None
        return ctx.services.sources.create(
            ctx.principal,
            name=text_field(body, "name", self.name, required=True) or "",
            url=url,
            options=_options(body),
        )

    def update(self, ctx: ImportContext, obj: DataSource, body: dict[str, Any]) -> DataSource:
        known_fields(body, _FIELDS, self.name)
        if obj.kind == WAREHOUSE_KIND:
            # The warehouse keeps its name and kind; only its options follow the document.
            if "options" in body:
                return ctx.services.sources.update(ctx.principal, obj.id, options=_options(body))
            return obj
        url = _url(body, required=False)
        if url is not None and url == ctx.services.sources.masked_url(obj):
            url = None  # the exported (masked) URL: keep the stored one with its password
        return ctx.services.sources.update(
            ctx.principal,
            obj.id,
            name=text_field(body, "name", self.name),
            url=url,
            options=_options(body) if "options" in body else None,
        )

    def remember(self, ctx: ImportContext, obj: DataSource, body: dict[str, Any], document_guid: Any) -> None:
        super().remember(ctx, obj, body, document_guid)
        # Another server's warehouse may have another name: refer to ours by the document's too.
        ctx.remember(self.name, obj.id, body.get("name"))


def _url(body: dict[str, Any], *, required: bool) -> str | None:
    url = text_field(body, "url", "data_source", required=required)
    # An exported URL hides its password: creating from it would store "***" as the password.
    if required and url is not None and f":{_HIDDEN_PASSWORD}@" in url:
        raise InvalidInputError("data_source.url", "give the URL with its password (exports hide it)")
    return url


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise InvalidInputError("data_source.options", "a mapping")
    return options
