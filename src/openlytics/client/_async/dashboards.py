"""Dashboards and the widgets placed on them."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from openlytics.client.models import Dashboard, PublicLink, Widget

from .http import AsyncHTTP

UPDATABLE_FIELDS = frozenset({"name", "tags", "is_draft", "filters_enabled", "options"})
WIDGET_FIELDS = frozenset({"text", "width", "options"})


def _ref(id_or_slug: int | str) -> str:
    return quote(str(id_or_slug), safe="")


class AsyncDashboards:
    """`client.dashboards`."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(
        self,
        search: str | None = None,
        tag: str | None = None,
        *,
        favorites: bool = False,
        include_archived: bool = False,
    ) -> AsyncIterator[Dashboard]:
        """Every dashboard matching `search` (name or slug) and `tag`, page after page (no widgets)."""
        params = {
            "search": search,
            "tag": tag,
            "favorites": "true" if favorites else None,
            "include_archived": "true" if include_archived else None,
        }
        async for item in self._http.paginate("/dashboards", params):
            yield Dashboard.from_json(item)

    async def get(self, id_or_slug: int | str) -> Dashboard:
        """One dashboard, by id or slug, with its widgets."""
        return Dashboard.from_json(await self._http.request("GET", f"/dashboards/{_ref(id_or_slug)}"))

    async def create(
        self,
        name: str,
        *,
        tags: builtins.list[str] | None = None,
        is_draft: bool | None = None,
        filters_enabled: bool | None = None,
        options: dict[str, Any] | None = None,
    ) -> Dashboard:
        """A new dashboard (a draft unless `is_draft=False`)."""
        fields = {
            "name": name,
            "tags": tags,
            "is_draft": is_draft,
            "filters_enabled": filters_enabled,
            "options": options,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        return Dashboard.from_json(await self._http.request("POST", "/dashboards", json=body))

    async def update(self, dashboard_id: int, **fields: Any) -> Dashboard:
        """Change any of `name`, `tags`, `is_draft`, `filters_enabled`, `options`."""
        _check_fields(fields, UPDATABLE_FIELDS, "dashboard")
        data = await self._http.request("PATCH", f"/dashboards/{dashboard_id}", json=fields)
        return Dashboard.from_json(data)

    async def archive(self, dashboard_id: int) -> None:
        """Archive a dashboard (and revoke its public link)."""
        await self._http.request("DELETE", f"/dashboards/{dashboard_id}")

    async def favorite(self, dashboard_id: int) -> None:
        """Star a dashboard."""
        await self._http.request("POST", f"/dashboards/{dashboard_id}/favorite")

    async def unfavorite(self, dashboard_id: int) -> None:
        """Remove the star."""
        await self._http.request("DELETE", f"/dashboards/{dashboard_id}/favorite")

    async def share(self, dashboard_id: int) -> PublicLink:
        """The dashboard's public link (made on first call)."""
        return PublicLink.from_json(await self._http.request("POST", f"/dashboards/{dashboard_id}/share"))

    async def unshare(self, dashboard_id: int) -> None:
        """Revoke the public link."""
        await self._http.request("DELETE", f"/dashboards/{dashboard_id}/share")

    async def image(self, id_or_slug: int | str, *, thumbnail: bool = False) -> bytes:
        """The dashboard drawn as PNG bytes (about 400 pixels wide with `thumbnail`)."""
        params = {"thumbnail": "true" if thumbnail else None}
        return await self._http.read_bytes(f"/dashboards/{_ref(id_or_slug)}/image.png", params=params)

    async def pdf(self, id_or_slug: int | str) -> bytes:
        """The dashboard as the bytes of a one-page PDF."""
        return await self._http.read_bytes(f"/dashboards/{_ref(id_or_slug)}/document.pdf")

    async def add_widget(
        self,
        dashboard_id: int,
        visualization_id: int | None = None,
        *,
        text: str | None = None,
        width: int = 1,
        options: dict[str, Any] | None = None,
        position: dict[str, int] | None = None,
    ) -> Widget:
        """Place a visualization, or a text box (`text`), on a dashboard.

        `position` (`{col, row, sizeX, sizeY}` on a 6-column grid) is stored in `options`.
        """
        opts = dict(options or {})
        if position is not None:
            opts["position"] = position
        body: dict[str, Any] = {"visualization_id": visualization_id, "width": width, "options": opts}
        if text is not None:
            body["text"] = text
        data = await self._http.request("POST", f"/dashboards/{dashboard_id}/widgets", json=body)
        return Widget.from_json(data)

    async def update_widget(self, widget_id: int, **fields: Any) -> Widget:
        """Change any of a widget's `text`, `width`, `options`."""
        _check_fields(fields, WIDGET_FIELDS, "widget")
        return Widget.from_json(await self._http.request("PATCH", f"/widgets/{widget_id}", json=fields))

    async def delete_widget(self, widget_id: int) -> None:
        """Remove a widget from its dashboard."""
        await self._http.request("DELETE", f"/widgets/{widget_id}")


def _check_fields(fields: dict[str, Any], allowed: frozenset[str], kind: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown {kind} fields: {', '.join(sorted(unknown))}")
