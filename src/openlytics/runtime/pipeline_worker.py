"""The pipeline worker: claims micro-batches from the incoming spool and runs them on an executor.

One batch per organization at a time (an organization's events stay in order); different
organizations run in parallel on the `BatchExecutor` (a thread pool here; a distributed executor
can replace it: a batch is a directory in the spool, so it only needs the spool's storage). A batch
whose processing fails is released back to the spool and its organization waits `backoff`
seconds (doubling up to a minute) before the next try.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from openlytics.core.pipeline.processor import PipelineProcessor
from openlytics.core.pipeline.spool import IncomingSpool, SpooledBatch

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


class BatchExecutor(ABC):
    """Runs pipeline batches somewhere."""

    @abstractmethod
    def submit(self, run: Callable[[], None]) -> None:
        """Run `run` (it handles its own errors)."""

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; optionally wait for running batches."""


class ThreadBatchExecutor(BatchExecutor):
    """A thread pool in this process."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openlytics-pipeline")

    def submit(self, run: Callable[[], None]) -> None:
        """Queue `run` on the pool."""
        self._pool.submit(run)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool (batches already submitted still run)."""
        self._pool.shutdown(wait=wait, cancel_futures=False)


class PipelineWorker:
    """The loop that feeds claimed batches to the processor (module docstring)."""

    def __init__(
        self,
        spool: IncomingSpool,
        processor: PipelineProcessor,
        *,
        workers: int = 2,
        poll_seconds: float = 0.2,
        max_batch_events: int = 5000,
        executor: BatchExecutor | None = None,
    ) -> None:
        self.spool = spool
        self.processor = processor
        self.workers = max(1, workers)
        self.poll_seconds = poll_seconds
        self.max_batch_events = max_batch_events
        self._executor = executor
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._retry_at: dict[int, tuple[float, float]] = {}  # org -> (monotonic time, backoff)

    @property
    def running(self) -> bool:
        """Whether the loop runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Release what a stopped process had claimed and start the loop."""
        if self.running:
            return
        self.spool.recover()
        self._stop.clear()
        if self._executor is None:
            self._executor = ThreadBatchExecutor(self.workers)
        self._thread = threading.Thread(target=self._loop, name="openlytics-pipeline-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming, wait for running batches and stop the executor."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def wake(self) -> None:
        """Look for new events now rather than at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch()
            except Exception:  # the loop must survive a bad spool directory or a full disk
                log.exception("pipeline worker: dispatching batches failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _dispatch(self) -> None:
        now = time.monotonic()
        for org_id in self.spool.orgs_with_pending():
            if self._stop.is_set():
                return
            with self._lock:
                busy = org_id in self._in_flight or len(self._in_flight) >= 2 * self.workers
                if busy or self._retry_at.get(org_id, (0.0, 0.0))[0] > now:
                    continue
                batch = self.spool.claim(org_id, self.max_batch_events)
                if batch is None:
                    continue
                self._in_flight.add(org_id)
            executor = self._executor
            if executor is None:
                self.spool.release(batch)
                with self._lock:
                    self._in_flight.discard(org_id)
                return
            executor.submit(functools.partial(self._run, batch))

    def _run(self, batch: SpooledBatch) -> None:
        try:
            self.processor.process_batch(batch)
            with self._lock:
                self._retry_at.pop(batch.org_id, None)
        except Exception:  # released by process_batch; retried after a pause
            log.exception("pipeline batch of organization %s failed; retrying later", batch.org_id)
            with self._lock:
                backoff = min(MAX_BACKOFF_SECONDS, self._retry_at.get(batch.org_id, (0.0, 0.5))[1] * 2)
                self._retry_at[batch.org_id] = (time.monotonic() + backoff, backoff)
        finally:
            with self._lock:
                self._in_flight.discard(batch.org_id)
            self._wake.set()

    def drain(self, org_id: int, timeout: float = 30.0) -> None:
        """Process until the organization has nothing waiting nor in flight (TimeoutError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                busy = org_id in self._in_flight
            if not busy and not self.spool.pending(org_id):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the pipeline of organization {org_id} did not drain in {timeout} s")
            if self.running:
                self.wake()
                time.sleep(0.02)
                continue
            batch = self.spool.claim(org_id, self.max_batch_events)
            if batch is not None:
                self.processor.process_batch(batch)
