# Generated from _async/client.py by `python -m openlytics.client._unasync`; edit that file instead.
"""`Client`: the entry point of the sync SDK."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from openlytics.client.models import Me, Run

from .account import Account
from .alerts import Alerts, Destinations
from .assets import Assets
from .dashboards import Dashboards
from .data_sources import DataSources
from .datasets import Datasets
from .groups import Groups
from .http import HTTP
from .identity import ApiKeys, Organizations, Users
from .jobs import Jobs, Results
from .oauth_clients import OAuthClients
from .pipeline import Pipeline
from .queries import DEFAULT_WAIT, Queries
from .result import QueryResult
from .runs import Runner
from .schedules import Schedules
from .scripts import Scripts
from .shares import Shares
from .teams import Teams
from .trusted_auth import TrustedAuth
from .visualizations import Visualizations


class Client:
    """A connection to one openlytics server as one credential.

    `url` and `api_key` default to `$OPENLYTICS_URL` and `$OPENLYTICS_API_KEY`. `timeout` (s) bounds each
    HTTP exchange; `max_retries` bounds retries of rate-limited, unavailable or unreachable requests.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = HTTP(url, api_key, timeout=timeout, max_retries=max_retries, transport=transport)
        self.organizations = Organizations(self._http)
        self.users = Users(self._http)
        self.teams = Teams(self._http)
        self.groups = Groups(self._http)
        self.shares = Shares(self._http)
        self.api_keys = ApiKeys(self._http)
        self.oauth_clients = OAuthClients(self._http)
        self.trusted_auth = TrustedAuth(self._http)
        self.data_sources = DataSources(self._http)
        self.jobs = Jobs(self._http)
        self.results = Results(self._http)
        self._runner = Runner(self._http, self.jobs, self.results)
        self.queries = Queries(self._http, self._runner)
        self.schedules = Schedules(self._http)
        self.scripts = Scripts(self._http)
        self.datasets = Datasets(self._http)
        self.visualizations = Visualizations(self._http)
        self.dashboards = Dashboards(self._http)
        self.alerts = Alerts(self._http)
        self.destinations = Destinations(self._http)
        self.account = Account(self._http)
        self.pipeline = Pipeline(self._http)
        self.assets = Assets(self._http)

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:8000/api/v1`."""
        return self._http.base_url

    @property
    def server_url(self) -> str:
        """The server's root, e.g. `http://127.0.0.1:8000`: where its pages (`/queries/<id>`) live."""
        return self._http.base_url.removesuffix("/api/v1")

    @property
    def max_server_wait(self) -> float:
        """The longest wait (s) asked of the server per run request; longer waits poll the job."""
        return self._runner.max_server_wait

    @max_server_wait.setter
    def max_server_wait(self, seconds: float) -> None:
        self._runner.max_server_wait = seconds

    def me(self) -> Me:
        """The user, organization and kind of credential this client acts as."""
        return Me.from_json(self._http.request("GET", "/me"))

    def health(self) -> dict[str, Any]:
        """The server's `/healthz` answer (no credential needed)."""
        request = self._http.build_request("GET", self.server_url + "/healthz")
        response = self._http.send(request)
        data: dict[str, Any] = response.json()
        return data

    def run_sql(
        self,
        sql: str,
        data_source_id: int | None = None,
        max_age: float = 0,
        *,
        wait: float | None = DEFAULT_WAIT,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run ad-hoc SQL (editors) and return its result, waiting up to `wait` s (None: forever).

        `max_age` > 0 accepts a cached result at most that many seconds old; `timeout` is the
        server-side time limit of the statement. When `wait` runs out, QueryTimeoutError carries the
        still-running job's id.
        """
        return self._runner.run("/runs", _sql_body(sql, data_source_id, max_age, timeout), wait)

    def start_sql(
        self, sql: str, data_source_id: int | None = None, max_age: float = 0, *, timeout: float | None = None
    ) -> Run:
        """Start ad-hoc SQL without waiting: a `Run` with the job (or the cached result)."""
        return self._runner.start("/runs", _sql_body(sql, data_source_id, max_age, timeout))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"


def _sql_body(sql: str, data_source_id: int | None, max_age: float, timeout: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {"sql": sql, "max_age": max_age}
    if data_source_id is not None:
        body["data_source_id"] = data_source_id
    if timeout is not None:
        body["timeout"] = timeout
    return body
