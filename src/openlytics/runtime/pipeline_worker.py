"""The pipeline worker: claims micro-batches from the incoming spool and runs them on an executor.

An organization's batches complete (types, mapping, load, ack) one at a time, in the order they
were claimed, so its events stay in order; different organizations run in parallel on the
`BatchExecutor` (a thread pool here; a distributed executor can replace it: a batch is a
directory in the spool, so it only needs the spool's storage).

Throughput: when the processor splits a batch into `prepare` (the transform, in its own
subprocess) and `complete`, up to `batches_per_org` batches of an organization are in flight:
batch N+1 is transformed while batch N loads, and N+1 completes only after N (if N fails, N+1 is
released too, so order is kept). The executor must start batches in the order they are submitted
(a thread pool does). When the spool holds a backlog (more than `deep_factor` x
`max_batch_events` waiting), batches of `deep_factor` x `max_batch_events` are claimed, which
spreads the fixed costs of a batch (the transform's subprocess, the load's transaction, the
metadata writes) over more events.

A batch whose processing fails is released back to the spool and its organization waits
`backoff` seconds (doubling up to a minute) before the next try.

Across processes (`openlytics worker` processes sharing the spool directory and a PostgreSQL
store): a process claims batches of an organization only while it holds the organization's lease
(`runtime/pipeline_leases.py`), taken before its first in-flight batch and given back when its
last one finishes, and never while another process's claims of that organization are still in the
spool (they are a dead process's, and come back first, in order). Every `recover_seconds` the loop
releases the claims of processes that are gone (`IncomingSpool.recover` with `claimers_gone`), so
a worker killed in the middle of a batch has it taken over by a survivor.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from openlytics.core.pipeline.processor import PipelineProcessor
from openlytics.core.pipeline.spool import ClaimerGone, IncomingSpool, SpooledBatch
from openlytics.runtime.pipeline_leases import LocalLeases, PipelineLeases

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


@dataclass(eq=False)
class _Ticket:
    """A claimed batch, and the batch of its organization it must complete after."""

    batch: SpooledBatch
    previous: _Ticket | None
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


class _PredecessorFailedError(RuntimeError):
    """The batch before this one (same organization) failed: this one goes back, to keep order."""


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
        deep_factor: int = 4,
        batches_per_org: int = 2,
        executor: BatchExecutor | None = None,
        leases: PipelineLeases | None = None,
        claimers_gone: ClaimerGone | None = None,
        recover_seconds: float = 5.0,
    ) -> None:
        self.spool = spool
        self.processor = processor
        self.workers = max(1, workers)
        self.poll_seconds = poll_seconds
        self.max_batch_events = max_batch_events
        self.deep_factor = max(1, deep_factor)
        # Two phases (prepare, complete) let batches of one organization overlap; else one at a time.
        pipelined = callable(getattr(processor, "prepare", None)) and callable(
            getattr(processor, "complete", None)
        )
        self.batches_per_org = max(1, batches_per_org) if pipelined else 1
        self._executor = executor
        self.leases = leases or LocalLeases()
        self.claimers_gone = claimers_gone
        self.recover_seconds = recover_seconds
        self._recovered_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: dict[int, int] = {}  # org -> batches claimed and not finished
        self._last: dict[int, _Ticket] = {}  # org -> its latest claimed batch
        self._retry_at: dict[int, tuple[float, float]] = {}  # org -> (monotonic time, backoff)

    @property
    def running(self) -> bool:
        """Whether the loop runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Release what a stopped process had claimed and start the loop."""
        if self.running:
            return
        self.spool.recover(self.claimers_gone)
        self._recovered_at = time.monotonic()
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
        self.leases.close()

    def wake(self) -> None:
        """Look for new events now rather than at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._recover_abandoned()
                self._dispatch()
            except Exception:  # the loop must survive a bad spool directory or a full disk
                log.exception("pipeline worker: dispatching batches failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _recover_abandoned(self) -> None:
        """Every `recover_seconds`: release the batches of claimers that are gone."""
        if time.monotonic() - self._recovered_at < self.recover_seconds:
            return
        self._recovered_at = time.monotonic()
        self.spool.recover(self.claimers_gone, keep_own=True)

    def _dispatch(self) -> None:
        now = time.monotonic()
        with self._lock:  # every webhook call wakes the loop: do not list the spool when full
            if sum(self._in_flight.values()) >= 2 * self.workers:
                return
        for org_id in self.spool.orgs_with_pending():
            while not self._stop.is_set():
                with self._lock:
                    busy = (
                        self._in_flight.get(org_id, 0) >= self.batches_per_org
                        or sum(self._in_flight.values()) >= 2 * self.workers
                    )
                    if busy or self._retry_at.get(org_id, (0.0, 0.0))[0] > now:
                        break
                    if not self._lease(org_id):
                        break
                    batch = self.spool.claim(org_id, self._batch_size(org_id))
                    if batch is None:
                        if org_id not in self._in_flight:
                            self.leases.release(org_id)
                        break
                    previous = self._last.get(org_id)
                    ticket = _Ticket(batch, None if previous is None or previous.done.is_set() else previous)
                    self._last[org_id] = ticket
                    self._in_flight[org_id] = self._in_flight.get(org_id, 0) + 1
                executor = self._executor
                if executor is None:
                    self.spool.release(batch)
                    self._finish(ticket, ok=False)
                    return
                executor.submit(functools.partial(self._run, ticket))
            if self._stop.is_set():
                return

    def _lease(self, org_id: int) -> bool:
        """Whether this process may claim the organization's next batch (under `_lock`)."""
        if org_id in self._in_flight:
            return True  # holds the lease since its first batch in flight
        if not self.leases.try_acquire(org_id):
            return False  # another process has batches of it in flight
        if self.spool.claimed_by_others(org_id):  # a gone claimer's: they come back first
            self.leases.release(org_id)
            return False
        return True

    def _batch_size(self, org_id: int) -> int:
        """Events to claim: more when a backlog waits (fixed costs per batch spread wider)."""
        deep = self.max_batch_events * self.deep_factor
        if self.deep_factor > 1 and self.spool.pending(org_id) >= 2 * deep:
            return deep
        return self.max_batch_events

    def _run(self, ticket: _Ticket) -> None:
        batch = ticket.batch
        ok = False
        try:
            if self.batches_per_org > 1:
                self._run_pipelined(ticket)
            else:
                self.processor.process_batch(batch)
            ok = True
            with self._lock:
                self._retry_at.pop(batch.org_id, None)
        except _PredecessorFailedError:
            log.info("pipeline batch of organization %s released after the one before it", batch.org_id)
        except Exception:  # released by the processor; retried after a pause
            log.exception("pipeline batch of organization %s failed; retrying later", batch.org_id)
            with self._lock:
                backoff = min(MAX_BACKOFF_SECONDS, self._retry_at.get(batch.org_id, (0.0, 0.5))[1] * 2)
                self._retry_at[batch.org_id] = (time.monotonic() + backoff, backoff)
        finally:
            self._finish(ticket, ok=ok)
            self._wake.set()

    def _run_pipelined(self, ticket: _Ticket) -> None:
        """Transform now; complete after the organization's previous batch, if it succeeded."""
        processor: Any = self.processor
        prepared = processor.prepare(ticket.batch)  # releases the batch if it raises
        if ticket.previous is not None:
            ticket.previous.done.wait()
            if not ticket.previous.ok:
                self.spool.release(ticket.batch)
                raise _PredecessorFailedError
        processor.complete(ticket.batch, prepared)

    def _finish(self, ticket: _Ticket, *, ok: bool) -> None:
        org_id = ticket.batch.org_id
        with self._lock:
            ticket.ok = ok
            ticket.previous = None  # done with it: no chain of finished tickets is kept alive
            ticket.done.set()
            left = self._in_flight.get(org_id, 0) - 1
            if left > 0:
                self._in_flight[org_id] = left
            else:
                self._in_flight.pop(org_id, None)
                self.leases.release(org_id)
            if self._last.get(org_id) is ticket:
                del self._last[org_id]

    def drain(self, org_id: int, timeout: float = 30.0) -> None:
        """Process until the organization has nothing waiting nor in flight (TimeoutError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            # Claims happen under the lock, so in-flight and pending are read together: a batch
            # is never between the two (claimed but not yet counted in flight).
            with self._lock:
                idle = org_id not in self._in_flight and not self.spool.pending(org_id)
            if idle:
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
