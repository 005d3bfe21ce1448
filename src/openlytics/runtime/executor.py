"""Executors run jobs. The local one is a thread pool inside the server process.

The interface (`submit`, `cancel`, `shutdown`) is what a distributed executor must also offer:
the job's state lives in the metadata store, so any process can run it and any can wait for it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from openlytics.core.jobs.dispatcher import JobContext

log = logging.getLogger(__name__)


class Executor(ABC):
    """Runs jobs by id somewhere and forwards cancellations to wherever they run."""

    @abstractmethod
    def submit(self, job_id: int, context: JobContext | None = None) -> None:
        """Queue the job for execution (`context` is an in-process hint that may be ignored)."""

    @abstractmethod
    def cancel(self, job_id: int) -> None:
        """Interrupt the job if it is running."""

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting jobs; optionally wait for running ones."""


class LocalExecutor(Executor):
    """A thread pool in this process; `run` is the job runner, `interrupt` its cancel."""

    def __init__(
        self,
        run: Callable[[int, JobContext | None], None],
        interrupt: Callable[[int, str], bool],
        *,
        workers: int = 4,
    ) -> None:
        self._run = run
        self._interrupt = interrupt
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openlytics-job")

    def submit(self, job_id: int, context: JobContext | None = None) -> None:
        """Queue the job on the pool."""
        self._pool.submit(self._safe_run, job_id, context)

    def _safe_run(self, job_id: int, context: JobContext | None) -> None:
        try:
            self._run(job_id, context)
        except Exception:  # the runner records failures itself; this guards the pool thread
            log.exception("job %s crashed its worker thread", job_id)

    def cancel(self, job_id: int) -> None:
        """Interrupt the running statement of the job, if it runs here."""
        self._interrupt(job_id, "cancelled")

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
