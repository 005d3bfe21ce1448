"""Background tasks: work finished after the request answered (a file load, an e-mail), polled by id.

A task runs a callable in a small thread pool and records `success` with the callable's JSON result,
or `failure` with the error's message. Tasks a stopped process left pending or running become
failures at the next start, like jobs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import ColumnElement, select, update

from openlytics.core.errors import NotFoundError, OpenlyticsError
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import BackgroundTask
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

PENDING, RUNNING, SUCCESS, FAILURE = "pending", "running", "success", "failure"
FINISHED = frozenset({SUCCESS, FAILURE})
INTERRUPTED = "interrupted: the server stopped before the task finished; run it again"

TaskWork = Callable[[], dict[str, Any] | None]


class BackgroundTaskService:
    """Create tasks, run them in a thread pool, and report their state."""

    def __init__(self, db: Database, *, workers: int = 2, worker_name: str | None = None) -> None:
        self.db = db
        # This process's name (host:pid), recorded on its tasks: see `recover_after_restart`.
        self.worker_name = worker_name
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task")
        self._done: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def submit(self, principal: Principal, kind: str, work: TaskWork, *, wait: float = 0) -> BackgroundTask:
        """Record a pending task, start `work`, and wait up to `wait` seconds for it to finish."""
        with self.db.session() as s:
            task = BackgroundTask(
                org_id=principal.org_id,
                user_id=principal.user_id,
                kind=kind,
                status=PENDING,
                worker=self.worker_name,
            )
            s.add(task)
            s.flush()
        done = threading.Event()
        with self._lock:
            self._done[task.id] = done
        self._pool.submit(self._run, task.id, work, done)
        if wait > 0 and done.wait(wait):
            return self._load(task.id)
        return task

    def get(self, principal: Principal, ref: int | str) -> BackgroundTask:
        """A task of the caller's organization, by id or UUID."""
        principal.require(Action.READ, f"task {ref}")
        with self.db.session() as s:
            if isinstance(ref, int) or str(ref).isdigit():
                task = s.get(BackgroundTask, int(ref))
            else:
                try:
                    key = uuid.UUID(str(ref))
                except ValueError:
                    raise NotFoundError("task", ref) from None
                task = s.scalar(select(BackgroundTask).where(BackgroundTask.uuid == key))
            if task is None or task.org_id != principal.org_id:
                raise NotFoundError("task", ref)
            return task

    def wait(self, task_id: int, timeout: float) -> bool:
        """Block until a task started by this process finishes (True) or `timeout` passes."""
        with self._lock:
            done = self._done.get(task_id)
        return True if done is None else done.wait(timeout)

    def recover_after_restart(self, *, worker: str | None = None) -> int:
        """Fail the tasks a stopped process left unfinished; how many. With `worker`, only that
        process's (on a store other live processes share, theirs are theirs to finish)."""
        unfinished: ColumnElement[bool] = BackgroundTask.status.in_([PENDING, RUNNING])
        if worker is not None:
            unfinished = unfinished & (BackgroundTask.worker == worker)
        with self.db.session() as s:
            result = s.execute(
                update(BackgroundTask)
                .where(unfinished)
                .values(status=FAILURE, error=INTERRUPTED, finished_at=utcnow())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def close(self) -> None:
        """Wait for running tasks and stop the pool."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, task_id: int, work: TaskWork, done: threading.Event) -> None:
        try:
            self._set(task_id, status=RUNNING)
            try:
                result = work() or {}
            except OpenlyticsError as exc:
                self._set(task_id, status=FAILURE, error=exc.message, result={"error": _error_of(exc)})
            except Exception as exc:  # a bug in the work must still end the task
                log.exception("task %s failed", task_id)
                self._set(task_id, status=FAILURE, error=f"internal error: {type(exc).__name__}: {exc}")
            else:
                self._set(task_id, status=SUCCESS, result=result)
        finally:
            done.set()
            with self._lock:
                self._done.pop(task_id, None)

    def _set(self, task_id: int, **values: Any) -> None:
        if values.get("status") in FINISHED:
            values["finished_at"] = utcnow()
        with self.db.session() as s:
            s.execute(update(BackgroundTask).where(BackgroundTask.id == task_id).values(**values))

    def _load(self, task_id: int) -> BackgroundTask:
        with self.db.session() as s:
            task = s.get(BackgroundTask, task_id)
            assert task is not None
            return task


def _error_of(exc: OpenlyticsError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}
