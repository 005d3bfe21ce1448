"""Background tasks: work finished after the request answered (a file load, an e-mail), polled by id.

Each kind of task has a handler registered by the code it belongs to (`register(kind, handler,
queue=)`); a task is a row with its kind, its JSON arguments and the principal that asked. It runs on
this process's small thread pool, or — when `dispatch` is set (the celery executor) — its id is sent
to the kind's queue and a worker process calls `execute`, which claims it with a compare-and-set.
Either way the handler's JSON result is recorded as `success`, its error as `failure`. Tasks a
stopped process left pending or running fail at the next start, like jobs; tasks waiting for a
worker (none claimed them yet) are left to the workers, and sent again when their message may have
been lost.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from openlytics.core.errors import NotFoundError, OpenlyticsError
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import BackgroundTask
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

PENDING, RUNNING, SUCCESS, FAILURE = "pending", "running", "success", "failure"
FINISHED = frozenset({SUCCESS, FAILURE})
INTERRUPTED = "interrupted: the server stopped before the task finished; run it again"
# A task no worker claimed this long after it was sent may have lost its message: a restarting API
# process sends it again (a duplicate finds it claimed and does nothing).
RESEND_AFTER = timedelta(seconds=30)
# Polling the store for a task running in another process: short first, then gently.
FIRST_POLL, LAST_POLL = 0.05, 0.5

TaskHandler = Callable[[Principal, dict[str, Any]], dict[str, Any] | None]


class UnknownTaskKindError(LookupError):
    """No handler is registered for a kind of task (a contribution was not installed)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"no handler is registered for background tasks of kind {kind!r}")
        self.kind = kind


@dataclass(frozen=True)
class _Kind:
    handler: TaskHandler
    queue: str


class BackgroundTaskService:
    """Create tasks, run them (here or on workers), and report their state."""

    def __init__(
        self, db: Database, *, files_dir: Path, workers: int = 2, worker_name: str | None = None
    ) -> None:
        self.db = db
        # This process's name (host:pid), recorded on the tasks it runs: see `recover_after_restart`.
        self.worker_name = worker_name or f"{socket.gethostname()}:{os.getpid()}"
        # Set by the application with the celery executor: send (task id, queue) to the workers.
        self.dispatch: Callable[[int, str], None] | None = None
        # Set while a worker stops: the messages it takes then go back to the queue.
        self.closing = False
        self._files_dir = files_dir
        self._kinds: dict[str, _Kind] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task")
        self._done: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    @property
    def files_dir(self) -> Path:
        """Where tasks' files live (request bodies to load): shared by API processes and workers."""
        self._files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self._files_dir

    def register(self, kind: str, handler: TaskHandler, *, queue: str) -> None:
        """Run tasks of `kind` with `handler`; on workers, those consuming `queue`."""
        self._kinds[kind] = _Kind(handler, queue)

    def submit(
        self, principal: Principal, kind: str, arguments: dict[str, Any] | None = None, *, wait: float = 0
    ) -> BackgroundTask:
        """Record a pending task, start it (here or on a worker), and wait up to `wait` seconds."""
        registered = self._kinds.get(kind)
        if registered is None:
            raise UnknownTaskKindError(kind)
        dispatch = self.dispatch
        with self.db.session() as s:
            task = BackgroundTask(
                org_id=principal.org_id,
                user_id=principal.user_id,
                kind=kind,
                status=PENDING,
                arguments=dict(arguments or {}),
                principal=principal.to_json(),
                # On this process's pool: its name from the start, so that if it dies before the task
                # begins the reaper still knows whose it was. Sent to workers: the claimer's name.
                worker=self.worker_name if dispatch is None else None,
                queue=registered.queue if dispatch is not None else None,
            )
            s.add(task)
            s.flush()
        if dispatch is None:
            done = threading.Event()
            with self._lock:
                self._done[task.id] = done
            self._pool.submit(self._run_here, task.id, done)
        elif not self._send(task.id, registered.queue):
            return self._load(task.id)
        return self.wait(task.id, wait) if wait > 0 else task

    def get(self, principal: Principal, ref: int | str) -> BackgroundTask:
        """A task of the caller's organization, by id or UUID."""
        principal.require(Action.READ, f"task {ref}")
        with self.db.session() as s:
            if isinstance(ref, int) or str(ref).isdecimal():
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

    def wait(self, task_id: int, timeout: float) -> BackgroundTask:
        """The task once finished, or as it is after `timeout` seconds."""
        with self._lock:
            done = self._done.get(task_id)
        if done is not None:  # running on this process's pool
            done.wait(timeout)
            return self._load(task_id)
        deadline = time.monotonic() + timeout
        pause = FIRST_POLL
        while True:
            task = self._load(task_id)
            left = deadline - time.monotonic()
            if task.status in FINISHED or left <= 0:
                return task
            time.sleep(min(pause, left))
            pause = min(pause * 2, LAST_POLL)

    def execute(self, task_id: int) -> bool:
        """Run a pending task here (what a worker does with a message) and record its outcome;
        False, doing nothing, when it is no longer pending or another process claimed it."""
        if not self._claim(task_id):
            log.info("task %s is finished or claimed elsewhere: not run", task_id)
            return False
        with self.db.session() as s:
            task = s.get_one(BackgroundTask, task_id)
            kind, arguments, asker = task.kind, dict(task.arguments or {}), task.principal
        registered = self._kinds.get(kind)
        if registered is None or asker is None:
            reason = "no principal recorded" if asker is None else str(UnknownTaskKindError(kind))
            self._set(task_id, status=FAILURE, error=f"internal error: {reason}")
            return True
        try:
            result = registered.handler(Principal.from_json(asker), arguments) or {}
        except OpenlyticsError as exc:
            self._set(task_id, status=FAILURE, error=exc.message, result={"error": _error_of(exc)})
        except Exception as exc:  # a bug in the handler must still end the task
            log.exception("task %s failed", task_id)
            self._set(task_id, status=FAILURE, error=f"internal error: {type(exc).__name__}: {exc}")
        else:
            self._set(task_id, status=SUCCESS, result=result)
        return True

    def recover_after_restart(self, *, worker: str | None = None, resend: bool = True) -> int:
        """Fail the tasks a stopped process left unfinished; how many.

        With `worker`, only that process's (on a store other live processes share, theirs are theirs
        to finish): tasks waiting for a worker are not anyone's yet and are left in their queue —
        those waiting longer than RESEND_AFTER are sent again (unless not `resend`), in case their
        message was lost. Without `worker` (alone on the store), every unfinished task fails."""
        unfinished: ColumnElement[bool] = BackgroundTask.status.in_([PENDING, RUNNING])
        if worker is not None:
            unfinished = unfinished & (BackgroundTask.worker == worker)
        with self.db.session() as s:
            result = s.execute(
                update(BackgroundTask)
                .where(unfinished)
                .values(status=FAILURE, error=INTERRUPTED, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            failed = int(getattr(result, "rowcount", 0) or 0)
            waiting = (
                list(
                    s.execute(
                        select(BackgroundTask.id, BackgroundTask.queue).where(
                            BackgroundTask.status == PENDING,
                            BackgroundTask.worker.is_(None),
                            BackgroundTask.queue.is_not(None),
                            BackgroundTask.created_at < utcnow() - RESEND_AFTER,
                        )
                    )
                )
                if worker is not None and resend and self.dispatch is not None
                else []
            )
        for task_id, queue in waiting:
            self._send(task_id, str(queue))
        return failed

    def close(self) -> None:
        """Take no more tasks, wait for those running on the pool and stop it."""
        self.closing = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run_here(self, task_id: int, done: threading.Event) -> None:
        try:
            self.execute(task_id)
        finally:
            done.set()
            with self._lock:
                self._done.pop(task_id, None)

    def _claim(self, task_id: int) -> bool:
        """PENDING -> RUNNING by this process: unclaimed (sent to workers) or recorded as ours."""
        mine = or_(BackgroundTask.worker.is_(None), BackgroundTask.worker == self.worker_name)
        with self.db.session() as s:
            result = s.execute(
                update(BackgroundTask)
                .where(BackgroundTask.id == task_id, BackgroundTask.status == PENDING, mine)
                .values(status=RUNNING, worker=self.worker_name)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1

    def _send(self, task_id: int, queue: str) -> bool:
        """Hand the task to `dispatch`; False when it could not (the task then failed)."""
        assert self.dispatch is not None
        try:
            self.dispatch(task_id, queue)
        except Exception as exc:  # a task nobody will run must not stay pending
            log.exception("task %s could not be sent to the workers", task_id)
            with self.db.session() as s:
                s.execute(
                    update(BackgroundTask)
                    .where(BackgroundTask.id == task_id, BackgroundTask.status == PENDING)
                    .values(
                        status=FAILURE,
                        error=f"the task could not be sent to the workers: {exc}",
                        finished_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                )
            return False
        return True

    def _set(self, task_id: int, **values: Any) -> None:
        """Record the outcome of a task this process claimed, unless it ended meanwhile (a reaper
        that judged this process lost has the last word: the outcome stays one)."""
        if values.get("status") in FINISHED:
            values["finished_at"] = utcnow()
        with self.db.session() as s:
            s.execute(
                update(BackgroundTask)
                .where(
                    BackgroundTask.id == task_id,
                    BackgroundTask.status == RUNNING,
                    BackgroundTask.worker == self.worker_name,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def _load(self, task_id: int) -> BackgroundTask:
        with self.db.session() as s:
            return s.get_one(BackgroundTask, task_id)


def _error_of(exc: OpenlyticsError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}
