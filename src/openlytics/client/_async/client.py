"""`AsyncClient`: the entry point of the async SDK."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from openlytics.client.models import Me, Run

from .account import AsyncAccount
from .alerts import AsyncAlerts, AsyncDestinations
from .assets import AsyncAssets
from .dashboards import AsyncDashboards
from .data_sources import AsyncDataSources
from .datasets import AsyncDatasets
from .groups import AsyncGroups
from .http import AsyncHTTP
from .identity import AsyncApiKeys, AsyncOrganizations, AsyncUsers
from .jobs import AsyncJobs, AsyncResults
from .oauth_clients import AsyncOAuthClients
from .pipeline import AsyncPipeline
from .queries import DEFAULT_WAIT, AsyncQueries
from .result import AsyncQueryResult
from .runs import AsyncRunner
from .schedules import AsyncSchedules
from .scripts import AsyncScripts
from .shares import AsyncShares
from .teams import AsyncTeams
from .trusted_auth import AsyncTrustedAuth
from .visualizations import AsyncVisualizations


class AsyncClient:
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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = AsyncHTTP(url, api_key, timeout=timeout, max_retries=max_retries, transport=transport)
        self.organizations = AsyncOrganizations(self._http)
        self.users = AsyncUsers(self._http)
        self.teams = AsyncTeams(self._http)
        self.groups = AsyncGroups(self._http)
        self.shares = AsyncShares(self._http)
        self.api_keys = AsyncApiKeys(self._http)
        self.oauth_clients = AsyncOAuthClients(self._http)
        self.trusted_auth = AsyncTrustedAuth(self._http)
        self.data_sources = AsyncDataSources(self._http)
        self.jobs = AsyncJobs(self._http)
        self.results = AsyncResults(self._http)
        self._runner = AsyncRunner(self._http, self.jobs, self.results)
        self.queries = AsyncQueries(self._http, self._runner)
        self.schedules = AsyncSchedules(self._http)
        self.scripts = AsyncScripts(self._http)
        self.datasets = AsyncDatasets(self._http)
        self.visualizations = AsyncVisualizations(self._http)
        self.dashboards = AsyncDashboards(self._http)
        self.alerts = AsyncAlerts(self._http)
        self.destinations = AsyncDestinations(self._http)
        self.account = AsyncAccount(self._http)
        self.pipeline = AsyncPipeline(self._http)
        self.assets = AsyncAssets(self._http)

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

    async def me(self) -> Me:
        """The user, organization and kind of credential this client acts as."""
        return Me.from_json(await self._http.request("GET", "/me"))

    async def health(self) -> dict[str, Any]:
        """The server's `/healthz` answer (no credential needed)."""
        request = self._http.build_request("GET", self.server_url + "/healthz")
        response = await self._http.send(request)
        data: dict[str, Any] = response.json()
        return data

    async def run_sql(
        self,
        sql: str,
        data_source_id: int | None = None,
        max_age: float = 0,
        *,
        wait: float | None = DEFAULT_WAIT,
        timeout: float | None = None,
    ) -> AsyncQueryResult:
        """Run ad-hoc SQL (editors) and return its result, waiting up to `wait` s (None: forever).

        `max_age` > 0 accepts a cached result at most that many seconds old; `timeout` is the
        server-side time limit of the statement. When `wait` runs out, QueryTimeoutError carries the
        still-running job's id.
        """
        return await self._runner.run("/runs", _sql_body(sql, data_source_id, max_age, timeout), wait)

    async def start_sql(
        self, sql: str, data_source_id: int | None = None, max_age: float = 0, *, timeout: float | None = None
    ) -> Run:
        """Start ad-hoc SQL without waiting: a `Run` with the job (or the cached result)."""
        return await self._runner.start("/runs", _sql_body(sql, data_source_id, max_age, timeout))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"


def _sql_body(sql: str, data_source_id: int | None, max_age: float, timeout: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {"sql": sql, "max_age": max_age}
    if data_source_id is not None:
        body["data_source_id"] = data_source_id
    if timeout is not None:
        body["timeout"] = timeout
    return body
