"""Data sources: the warehouse and external databases."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import Any

from openlytics.client.models import DataSource, Table

from .http import AsyncHTTP


class AsyncDataSources:
    """`client.data_sources`."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self) -> AsyncIterator[DataSource]:
        """Every data source of the organization."""
        async for item in self._http.paginate("/data-sources"):
            yield DataSource.from_json(item)

    async def get(self, data_source_id: int) -> DataSource:
        """One data source."""
        return DataSource.from_json(await self._http.request("GET", f"/data-sources/{data_source_id}"))

    async def create(self, name: str, url: str, options: dict[str, Any] | None = None) -> DataSource:
        """Register an external database by URL, e.g. `postgresql://user:pw@host/db` (admins)."""
        body: dict[str, Any] = {"name": name, "url": url}
        if options is not None:
            body["options"] = options
        return DataSource.from_json(await self._http.request("POST", "/data-sources", json=body))

    async def update(
        self,
        data_source_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> DataSource:
        """Change the given fields of a data source."""
        fields = {"name": name, "url": url, "options": options}
        body = {k: v for k, v in fields.items() if v is not None}
        data = await self._http.request("PATCH", f"/data-sources/{data_source_id}", json=body)
        return DataSource.from_json(data)

    async def delete(self, data_source_id: int) -> None:
        """Delete a data source."""
        await self._http.request("DELETE", f"/data-sources/{data_source_id}")

    async def test(self, data_source_id: int) -> bool:
        """Check that the source answers; raises SourceUnavailableError when it does not."""
        data = await self._http.request("POST", f"/data-sources/{data_source_id}/test")
        return bool(data and data.get("ok"))

    async def schema(self, data_source_id: int) -> builtins.list[Table]:
        """The tables and columns the source exposes."""
        data = await self._http.request("GET", f"/data-sources/{data_source_id}/schema")
        return [Table.from_json(t) for t in data.get("tables") or []]

    async def invalidate_cache(self, data_source_id: int) -> DataSource:
        """Forget the source's cached schema and results."""
        data = await self._http.request("POST", f"/data-sources/{data_source_id}/invalidate-cache")
        return DataSource.from_json(data)
