# Generated from _async/jobs.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Jobs (executions) and the results they store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from time import monotonic

from openlytics.client._errors import error_from_job
from openlytics.client.exceptions import QueryTimeoutError
from openlytics.client.models import Job, JobStatus, Result

from .http import HTTP, PathOrFile, ProgressCallback

FIRST_POLL_DELAY = 0.02
MAX_POLL_DELAY = 1.0


class Jobs:
    """`client.jobs`."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(
        self, *, status: JobStatus | str | None = None, query_id: int | None = None
    ) -> Iterator[Job]:
        """Recent jobs, newest first; optionally only those with `status` ("FAILURE", ...) or `query_id`."""
        value = JobStatus[status.upper()] if isinstance(status, str) else status
        params = {"status": int(value) if value is not None else None, "query_id": query_id}
        for item in self._http.paginate("/jobs", params):
            yield Job.from_json(item)

    def get(self, job_id: int) -> Job:
        """One job."""
        return Job.from_json(self._http.request("GET", f"/jobs/{job_id}"))

    def cancel(self, job_id: int) -> Job:
        """Ask the server to cancel a job; returns its state just after."""
        return Job.from_json(self._http.request("POST", f"/jobs/{job_id}/cancel"))

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        """Poll until the job succeeds; a failure, cancellation or `timeout` (s) raises a QueryError."""
        deadline = None if timeout is None else monotonic() + timeout
        delay = FIRST_POLL_DELAY
        while True:
            request = self._http.build_request("GET", f"/jobs/{job_id}")
            response = self._http.send(request)
            job = Job.from_json(response.json())
            if job.status is JobStatus.SUCCESS:
                return job
            if job.is_finished:
                raise error_from_job(job, request)
            left = None if deadline is None else deadline - monotonic()
            if left is not None and left <= 0:
                raise QueryTimeoutError(
                    f"job {job_id} still {job.status_name} after {timeout:g} s",
                    job_id=job_id,
                    request=request,
                    code="query_timeout",
                    details={"job_id": job_id},
                )
            time.sleep(delay if left is None else min(delay, left))
            delay = min(delay * 2, MAX_POLL_DELAY)


class Results:
    """`client.results`."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def get(self, result_id: int) -> Result:
        """A result's metadata, with its rows when the server inlines them."""
        return Result.from_json(self._http.request("GET", f"/results/{result_id}"))

    def download(
        self,
        result_id: int,
        format: str,
        path_or_file: PathOrFile,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stream the data as `json`, `csv`, `parquet` or `arrow` to a path or binary file; returns bytes.

        `progress(bytes_so_far, total_or_None)` is called as chunks arrive.
        """
        params = {"format": format}
        return self._http.download(f"/results/{result_id}/data", params, path_or_file, progress)

    def iter_data(self, result_id: int, format: str = "csv") -> Iterator[bytes]:
        """The data in `format`, chunk by chunk as it arrives: never held in memory whole."""
        with self._http.stream(f"/results/{result_id}/data", params={"format": format}) as response:
            yield from self._http.iter_body(response)

    def read(self, result_id: int, format: str = "arrow") -> bytes:
        """The whole data in one `format`, in memory."""
        return self._http.read_bytes(f"/results/{result_id}/data", params={"format": format})
