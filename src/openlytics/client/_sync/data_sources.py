# Generated from _async/data_sources.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Data sources: the warehouse and external databases."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

from openlytics.client.models import DataSource, Table

from .http import HTTP


class DataSources:
    """`client.data_sources`."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self) -> Iterator[DataSource]:
        """Every data source of the organization."""
        for item in self._http.paginate("/data-sources"):
            yield DataSource.from_json(item)

    def get(self, data_source_id: int) -> DataSource:
        """One data source."""
        return DataSource.from_json(self._http.request("GET", f"/data-sources/{data_source_id}"))

    def create(self, name: str, url: str, options: dict[str, Any] | None = None) -> DataSource:
        """Register an external database by URL, e.g. `postgresql://user:pw@host/db` (admins)."""
        body: dict[str, Any] = {"name": name, "url": url}
        if options is not None:
            body["options"] = options
        return DataSource.from_json(self._http.request("POST", "/data-sources", json=body))

    def update(
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
        data = self._http.request("PATCH", f"/data-sources/{data_source_id}", json=body)
        return DataSource.from_json(data)

    def delete(self, data_source_id: int) -> None:
        """Delete a data source."""
        self._http.request("DELETE", f"/data-sources/{data_source_id}")

    def test(self, data_source_id: int) -> bool:
        """Check that the source answers; raises SourceUnavailableError when it does not."""
        data = self._http.request("POST", f"/data-sources/{data_source_id}/test")
        return bool(data and data.get("ok"))

    def schema(self, data_source_id: int) -> builtins.list[Table]:
        """The tables and columns the source exposes."""
        data = self._http.request("GET", f"/data-sources/{data_source_id}/schema")
        return [Table.from_json(t) for t in data.get("tables") or []]

    def invalidate_cache(self, data_source_id: int) -> DataSource:
        """Forget the source's cached schema and results."""
        data = self._http.request("POST", f"/data-sources/{data_source_id}/invalidate-cache")
        return DataSource.from_json(data)
