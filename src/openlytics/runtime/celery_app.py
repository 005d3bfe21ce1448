"""The Celery application of the distributed executor (docs/scale-out.md).

Three tasks, `openlytics.run_job(job_id)`, `openlytics.run_script(run_id)` and
`openlytics.run_task(task_id)` (background tasks: file loads, e-mails), and one remote-control
command, `openlytics_cancel_job`. None builds anything: a worker process (`openlytics worker`) holds
one `Openlytics` application whose job runner, script service and task service they use. State lives
in the metadata store, so there is no result backend; a message is acknowledged after its work ran
(late ack), and a redelivered one finds its job no longer PENDING (its script run or task claimed)
and does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery, signals
from celery.exceptions import Reject
from celery.worker.control import control_command

from openlytics.core.jobs.runner import JobRunner
from openlytics.core.scripts import ScriptService
from openlytics.core.tasks import BackgroundTaskService
from openlytics.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "queries"
RUN_JOB = "openlytics.run_job"
RUN_SCRIPT = "openlytics.run_script"
RUN_TASK = "openlytics.run_task"
CANCEL_JOB = "openlytics_cancel_job"
# Redis redelivers a message not acknowledged within its visibility timeout: keep that well above
# the time a job or script may run (redelivery is harmless, but a message should not circulate).
MIN_VISIBILITY_TIMEOUT = 3600.0


class OpenlyticsCelery(Celery):
    """A Celery application that knows the job runner, script and task services of its process."""

    job_runner: JobRunner | None = None
    scripts: ScriptService | None = None
    # Not `tasks`: that is Celery's own registry of task functions.
    background_tasks: BackgroundTaskService | None = None


def celery_app(settings: Settings, runner: JobRunner | None = None) -> OpenlyticsCelery:
    """The Celery application for `settings`; `runner` runs the jobs of this process (workers)."""
    app = OpenlyticsCelery("openlytics", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        broker_transport_options={
            "visibility_timeout": max(
                MIN_VISIBILITY_TIMEOUT, 2 * settings.default_query_timeout, 2 * settings.scripts.wall_seconds
            )
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    app.job_runner = runner
    app.task(name=RUN_JOB, bind=True)(_run_job)
    app.task(name=RUN_SCRIPT, bind=True)(_run_script)
    app.task(name=RUN_TASK, bind=True)(_run_task)
    return app


def script_dispatch(app: OpenlyticsCelery, queue: str) -> Callable[[int], None]:
    """`ScriptService.dispatch` for the API processes: send the run's id to `queue`."""

    def dispatch(run_id: int) -> None:
        app.send_task(RUN_SCRIPT, args=[run_id], queue=queue)

    return dispatch


def task_dispatch(app: OpenlyticsCelery) -> Callable[[int, str], None]:
    """`BackgroundTaskService.dispatch` for the API processes: send the task's id to its queue."""

    def dispatch(task_id: int, queue: str) -> None:
        app.send_task(RUN_TASK, args=[task_id], queue=queue)

    return dispatch


def _run_job(task: Any, job_id: int) -> None:
    runner = task.app.job_runner
    if runner is None:
        raise RuntimeError("this process has no job runner: jobs run in `openlytics worker`")
    # The runner claims a PENDING job with a compare-and-set and records every outcome itself.
    runner.run(int(job_id), None)


def _run_script(task: Any, run_id: int) -> None:
    scripts = task.app.scripts
    if scripts is None:
        raise RuntimeError("this process has no script service: scripts run in `openlytics worker`")
    if scripts.closing:  # a stopping worker gives the run back to the queue, unclaimed
        raise Reject("the worker is stopping", requeue=True)
    # The service claims a `running` run with a compare-and-set and records every outcome itself.
    scripts.execute(int(run_id))


def _run_task(task: Any, task_id: int) -> None:
    tasks = task.app.background_tasks
    if tasks is None:
        raise RuntimeError("this process has no task service: tasks run in `openlytics worker`")
    if tasks.closing:  # a stopping worker gives the task back to the queue, unclaimed
        raise Reject("the worker is stopping", requeue=True)
    # The service claims a pending task with a compare-and-set and records every outcome itself.
    tasks.execute(int(task_id))


@control_command(args=[("job_id", int)], signature="<job_id>")
def openlytics_cancel_job(state: Any, job_id: int) -> dict[str, Any]:
    """Interrupt the statement of a job if it runs in this worker."""
    runner = getattr(state.app, "job_runner", None)
    interrupted = runner is not None and runner.interrupt(int(job_id), "cancelled")
    return {"ok": "interrupted" if interrupted else "not running here"}


def run_worker(
    app: OpenlyticsCelery,
    *,
    hostname: str,
    queues: Sequence[str],
    concurrency: int,
    on_shutdown: Callable[[], object] | None = None,
    loglevel: str = "INFO",
) -> int:
    """Consume `queues` with a pool of threads until a signal stops the worker; its exit code.

    Threads, so that the cancel command and the jobs share the process (and its runner).
    `on_shutdown` is called as soon as a shutdown is requested (SIGTERM, SIGINT), before running
    jobs are waited for; running scripts are killed then too (their runs fail as interrupted)."""

    worker: Any = None

    def shutting_down(**_kwargs: Any) -> None:
        if on_shutdown is not None:
            on_shutdown()
        if app.scripts is not None:
            app.scripts.close()
        if app.background_tasks is not None:  # running tasks finish; those taken later are requeued
            app.background_tasks.closing = True
        hub = getattr(worker, "hub", None)
        if hub is not None:
            # The signal handler runs in the broker loop's thread, whose poll then resumes for up to
            # 10 s before the loop sees the shutdown flag: a wake-up from another thread ends it.
            threading.Thread(target=hub.call_soon, args=(_nothing,), daemon=True).start()

    signals.worker_shutting_down.connect(shutting_down, weak=False)
    try:
        worker = app.Worker(
            hostname=hostname,
            pool_cls="threads",
            concurrency=concurrency,
            queues=list(queues),
            loglevel=loglevel,
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            quiet=True,
        )
        worker.start()
        return int(worker.exitcode or 0)
    finally:
        signals.worker_shutting_down.disconnect(shutting_down)


def _nothing() -> None:
    pass
