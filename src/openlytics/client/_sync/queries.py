# Generated from _async/queries.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Saved queries."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

from openlytics.client.models import Query, Run

from .http import HTTP
from .result import QueryResult
from .runs import Runner

DEFAULT_WAIT = 300.0

UPDATABLE_FIELDS = frozenset(
    {"name", "sql", "data_source_id", "description", "parameters", "tags", "timeout"}
)


class Queries:
    """`client.queries`."""

    def __init__(self, http: HTTP, runner: Runner) -> None:
        self._http = http
        self._runner = runner

    def list(
        self, q: str | None = None, tag: str | None = None, include_archived: bool = False
    ) -> Iterator[Query]:
        """Every query matching the search text `q` and `tag`, page after page."""
        params = {"q": q, "tag": tag, "include_archived": "true" if include_archived else None}
        for item in self._http.paginate("/queries", params):
            yield Query.from_json(item)

    def get(self, query_id: int) -> Query:
        """One query (archived ones too)."""
        return Query.from_json(self._http.request("GET", f"/queries/{query_id}"))

    def create(
        self,
        name: str,
        sql: str,
        data_source_id: int | None = None,
        description: str | None = None,
        parameters: builtins.list[dict[str, Any]] | None = None,
        tags: builtins.list[str] | None = None,
        timeout: float | None = None,
    ) -> Query:
        """Save a query; it runs on the warehouse unless `data_source_id` says otherwise."""
        fields = {
            "name": name,
            "sql": sql,
            "data_source_id": data_source_id,
            "description": description,
            "parameters": parameters,
            "tags": tags,
            "timeout": timeout,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        return Query.from_json(self._http.request("POST", "/queries", json=body))

    def update(self, query_id: int, **fields: Any) -> Query:
        """Change any of `name`, `sql`, `data_source_id`, `description`, `parameters`, `tags`, `timeout`."""
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise TypeError(f"unknown query fields: {', '.join(sorted(unknown))}")
        return Query.from_json(self._http.request("PATCH", f"/queries/{query_id}", json=fields))

    def archive(self, query_id: int) -> None:
        """Archive a query: it leaves lists but stays readable."""
        self._http.request("DELETE", f"/queries/{query_id}")

    def fork(self, query_id: int) -> Query:
        """Copy a query under the caller's name."""
        return Query.from_json(self._http.request("POST", f"/queries/{query_id}/fork"))

    def run(
        self,
        query_id: int,
        parameters: dict[str, Any] | None = None,
        max_age: float = 0,
        *,
        wait: float | None = DEFAULT_WAIT,
    ) -> QueryResult:
        """Run the query and return its result, waiting up to `wait` s (None: forever).

        `max_age` > 0 accepts a cached result at most that many seconds old. When `wait` runs out,
        QueryTimeoutError carries the still-running job's id.
        """
        return self._runner.run(f"/queries/{query_id}/run", _run_body(parameters, max_age), wait)

    def start(self, query_id: int, parameters: dict[str, Any] | None = None, max_age: float = 0) -> Run:
        """Start a run without waiting: a `Run` with the job (or the cached result)."""
        return self._runner.start(f"/queries/{query_id}/run", _run_body(parameters, max_age))


def _run_body(parameters: dict[str, Any] | None, max_age: float) -> dict[str, Any]:
    body: dict[str, Any] = {"max_age": max_age}
    if parameters:
        body["parameters"] = parameters
    return body
