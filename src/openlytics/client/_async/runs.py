"""Run-and-wait: one POST with a server-side wait, then polling the job if it is still running."""

from __future__ import annotations

from time import monotonic
from typing import Any

import httpx

from openlytics.client.exceptions import OpenlyticsError
from openlytics.client.models import Run

from .http import AsyncHTTP
from .jobs import AsyncJobs, AsyncResults
from .result import AsyncQueryResult

# The longest wait asked of the server per request; the rest of a run's wait is spent polling.
# Short enough for proxies with idle timeouts, long enough that most queries need one round trip.
MAX_SERVER_WAIT = 10.0


class AsyncRunner:
    """Starts runs and waits for their results."""

    def __init__(self, http: AsyncHTTP, jobs: AsyncJobs, results: AsyncResults) -> None:
        self._http = http
        self._jobs = jobs
        self._results = results
        self.max_server_wait = MAX_SERVER_WAIT

    async def start(self, path: str, body: dict[str, Any], server_wait: float = 0.0) -> Run:
        """POST a run asking the server to wait up to `server_wait` s; the answer may hold only a job."""
        timeout = self._http.timeout
        read = None if timeout.read is None else timeout.read + server_wait
        longer = httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)
        data = await self._http.request("POST", path, json={**body, "wait": server_wait}, timeout=longer)
        return Run.from_json(data)

    async def run(self, path: str, body: dict[str, Any], wait: float | None) -> AsyncQueryResult:
        """Run and return the result, waiting at most `wait` s (None: forever) before QueryTimeoutError."""
        deadline = None if wait is None else monotonic() + wait
        server_wait = self.max_server_wait if wait is None else max(0.0, min(wait, self.max_server_wait))
        run = await self.start(path, body, server_wait)
        if run.result is not None:
            return AsyncQueryResult(self._results, run.result, run.job)
        if run.job is None:
            raise OpenlyticsError("the server answered a run with neither a job nor a result")
        left = None if deadline is None else max(0.0, deadline - monotonic())
        job = await self._jobs.wait(run.job.id, left)
        if job.result_id is None:
            raise OpenlyticsError(f"job {job.id} succeeded without a result")
        return AsyncQueryResult(self._results, await self._results.get(job.result_id), job)
