# Generated from _async/visualizations.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Visualizations: how a query's result is drawn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openlytics.client.models import Visualization

from .http import HTTP

UPDATABLE_FIELDS = frozenset({"name", "description", "type", "options"})


class Visualizations:
    """`client.visualizations`."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self, query_id: int) -> Iterator[Visualization]:
        """Every visualization of a query, oldest first (a new query starts with a table)."""
        for item in self._http.paginate(f"/queries/{query_id}/visualizations"):
            yield Visualization.from_json(item)

    def get(self, visualization_id: int) -> Visualization:
        """One visualization."""
        return Visualization.from_json(self._http.request("GET", f"/visualizations/{visualization_id}"))

    def create(
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
        return Visualization.from_json(self._http.request("POST", "/visualizations", json=body))

    def update(self, visualization_id: int, **fields: Any) -> Visualization:
        """Change any of `name`, `description`, `type`, `options`."""
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise TypeError(f"unknown visualization fields: {', '.join(sorted(unknown))}")
        data = self._http.request("PATCH", f"/visualizations/{visualization_id}", json=fields)
        return Visualization.from_json(data)

    def delete(self, visualization_id: int) -> None:
        """Delete a visualization and the widgets showing it."""
        self._http.request("DELETE", f"/visualizations/{visualization_id}")
