"""Visualizations: how a query's result is drawn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from openlytics.client.models import Visualization

from .http import AsyncHTTP

UPDATABLE_FIELDS = frozenset({"name", "description", "type", "options"})


class AsyncVisualizations:
    """`client.visualizations`."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self, query_id: int) -> AsyncIterator[Visualization]:
        """Every visualization of a query, oldest first (a new query starts with a table)."""
        async for item in self._http.paginate(f"/queries/{query_id}/visualizations"):
            yield Visualization.from_json(item)

    async def get(self, visualization_id: int) -> Visualization:
        """One visualization."""
        return Visualization.from_json(await self._http.request("GET", f"/visualizations/{visualization_id}"))

    async def create(
        self,
        query_id: int,
        type: str,
        name: str | None = None,
        description: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> Visualization:
        """Add a `TABLE`, `CHART`, `PIVOT` or `COUNTER` to a query; options must fit its columns."""
        fields = {
            "query_id": query_id,
            "type": type,
            "name": name,
            "description": description,
            "options": options,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        return Visualization.from_json(await self._http.request("POST", "/visualizations", json=body))

    async def update(self, visualization_id: int, **fields: Any) -> Visualization:
        """Change any of `name`, `description`, `type`, `options`."""
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise TypeError(f"unknown visualization fields: {', '.join(sorted(unknown))}")
        data = await self._http.request("PATCH", f"/visualizations/{visualization_id}", json=fields)
        return Visualization.from_json(data)

    async def delete(self, visualization_id: int) -> None:
        """Delete a visualization and the widgets showing it."""
        await self._http.request("DELETE", f"/visualizations/{visualization_id}")
