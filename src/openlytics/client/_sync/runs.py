# Generated from _async/runs.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Run-and-wait: one POST with a server-side wait, then polling the job if it is still running."""

from __future__ import annotations

from time import monotonic
from typing import Any

import httpx

from openlytics.client.exceptions import OpenlyticsError
from openlytics.client.models import Run

from .http import HTTP
from .jobs import Jobs, Results
from .result import QueryResult

# The longest wait asked of the server per request; the rest of a run's wait is spent polling.
# Short enough for proxies with idle timeouts, long enough that most queries need one round trip.
MAX_SERVER_WAIT = 10.0


class Runner:
    """Starts runs and waits for their results."""

    def __init__(self, http: HTTP, jobs: Jobs, results: Results) -> None:
        self._http = http
        self._jobs = jobs
        self._results = results
        self.max_server_wait = MAX_SERVER_WAIT

    def start(self, path: str, body: dict[str, Any], server_wait: float = 0.0) -> Run:
        """POST a run asking the server to wait up to `server_wait` s; the answer may hold only a job."""
        timeout = self._http.timeout
        read = None if timeout.read is None else timeout.read + server_wait
        longer = httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)
        data = self._http.request("POST", path, json={**body, "wait": server_wait}, timeout=longer)
        return Run.from_json(data)

    def run(self, path: str, body: dict[str, Any], wait: float | None) -> QueryResult:
        """Run and return the result, waiting at most `wait` s (None: forever) before QueryTimeoutError."""
        deadline = None if wait is None else monotonic() + wait
        server_wait = self.max_server_wait if wait is None else max(0.0, min(wait, self.max_server_wait))
        run = self.start(path, body, server_wait)
        if run.result is not None:
            return QueryResult(self._results, run.result, run.job)
        if run.job is None:
            raise OpenlyticsError("the server answered a run with neither a job nor a result")
        left = None if deadline is None else max(0.0, deadline - monotonic())
        job = self._jobs.wait(run.job.id, left)
        if job.result_id is None:
            raise OpenlyticsError(f"job {job.id} succeeded without a result")
        return QueryResult(self._results, self._results.get(job.result_id), job)
