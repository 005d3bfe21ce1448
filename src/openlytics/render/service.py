"""Dashboard renders (PNG, PDF, documents) where the executor runs background work.

`DashboardRenderer` builds a dashboard's view and draws it. Without a task dispatch (the local
executor) it does both in the calling process, as a plain function call. With one (the celery
executor) it submits a `render` background task to the `renders` queue carrying only JSON — the
principal, the dashboard's reference and the layout options — so the worker that takes it builds
the view (reading the results store) and draws it there, then writes the bytes to a file in the
tasks' shared directory; the caller reads and deletes that file. A failed render raises the typed
error the direct call raises; one not finished in time raises `RenderTimeoutError`.

Unlike the rest of the render package this module knows the server's services (views, tasks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlytics.core.dashboard_views import DashboardViews
from openlytics.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    OpenlyticsError,
    PermissionDeniedError,
    TransientError,
)
from openlytics.core.principal import Principal
from openlytics.core.public_links import PublicLinkService
from openlytics.core.tasks import FAILURE, SUCCESS, BackgroundTaskService
from openlytics.render.document import DocumentOptions, dashboard_document
from openlytics.render.image import dashboard_pdf, dashboard_png
from openlytics.render.model import DashboardView
from openlytics.store.models import BackgroundTask

log = logging.getLogger(__name__)

RENDER = "render"
RENDERS_QUEUE = "renders"
RENDERS_DIR = "renders"
DEFAULT_TIMEOUT = 120.0
# Files of renders nobody read (the caller gave up, or its process died) are removed after this.
ABANDONED_AFTER = 3600.0
PNG, PDF = "image/png", "application/pdf"

# Errors a render reports that callers tell apart by type; any other code is re-raised as it came.
_TYPED: dict[str, type[OpenlyticsError]] = {
    cls.code: cls for cls in (NotFoundError, PermissionDeniedError, InvalidInputError, ConflictError)
}


class RenderTimeoutError(OpenlyticsError, TransientError):
    """A render did not finish within its time limit (no worker took it in time, or it ran long)."""

    code = "render_timeout"

    def __init__(self, seconds: float, task_id: int | None = None) -> None:
        where = f" (task {task_id})" if task_id is not None else ""
        super().__init__(
            f"the render did not finish within {seconds:g} s{where}; is a worker consuming the "
            f"{RENDERS_QUEUE!r} queue?",
            seconds=seconds,
            task_id=task_id,
        )
        self.seconds = seconds
        self.task_id = task_id


class RenderFailedError(OpenlyticsError):
    """A render failed on a worker with an error of code `code` (kept, so its HTTP status is)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, **(details or {}))
        self.code = code


@dataclass(frozen=True)
class Drawing:
    """Rendered bytes and their media type."""

    content: bytes
    content_type: str


class DashboardRenderer:
    """Draws dashboards as PNG, one-page PDF or laid-out documents, here or on a renders worker."""

    def __init__(
        self,
        views: DashboardViews,
        links: PublicLinkService,
        tasks: BackgroundTaskService,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        processes: int = 2,
    ) -> None:
        self.views = views
        self.links = links
        self.tasks = tasks
        self.timeout = timeout
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def register(self, tasks: BackgroundTaskService) -> None:
        """Make `render` tasks runnable by `tasks` (in a worker: the ones it takes from the queue)."""
        tasks.register(RENDER, self._run_task, queue=RENDERS_QUEUE)

    def png(self, principal: Principal, dashboard_ref: int | str, *, thumbnail: bool = False) -> bytes:
        """The dashboard as a PNG, 1200 pixels wide (about 400 as a thumbnail)."""
        return self._render(principal, {"format": "png", "dashboard": dashboard_ref, "thumbnail": thumbnail})

    def pdf(self, principal: Principal, dashboard_ref: int | str) -> bytes:
        """The dashboard as a one-page PDF."""
        return self._render(principal, {"format": "pdf", "dashboard": dashboard_ref})

    def document(self, principal: Principal, dashboard_ref: int | str, options: DocumentOptions) -> bytes:
        """The dashboard as a PDF document laid out by `options`."""
        arguments = {"format": "document", "dashboard": dashboard_ref, "options": options_to_json(options)}
        return self._render(principal, arguments)

    def public_png(self, token: str, *, thumbnail: bool = False) -> bytes:
        """The dashboard a public link reaches, as a PNG (NotFoundError once the link is revoked)."""
        principal, dashboard_id = self.links.resolve(token)
        return self.png(principal, dashboard_id, thumbnail=thumbnail)

    def public_pdf(self, token: str) -> bytes:
        """The dashboard a public link reaches, as a one-page PDF."""
        principal, dashboard_id = self.links.resolve(token)
        return self.pdf(principal, dashboard_id)

    def sweep(self, older_than: float = ABANDONED_AFTER) -> int:
        """Remove render files nobody read for `older_than` seconds; how many."""
        removed = 0
        cutoff = time.time() - older_than
        for path in self._dir().glob("*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    # ----- the two sides of a render ------------------------------------------------------------

    def _render(self, principal: Principal, arguments: dict[str, Any]) -> bytes:
        if self.tasks.dispatch is None:
            return self.draw(principal, arguments).content
        return self._render_on_worker(principal, arguments)

    def draw(self, principal: Principal, arguments: dict[str, Any]) -> Drawing:
        """Build the view of `arguments["dashboard"]` as `principal` sees it and draw it."""
        check_format(arguments)
        return draw_view(self.views.view(principal, arguments["dashboard"]), arguments)

    def _render_on_worker(self, principal: Principal, arguments: dict[str, Any]) -> bytes:
        self.sweep()
        # The worker skips a render its caller no longer waits for (a message that sat in the queue).
        deadline = time.time() + self.timeout
        started = time.monotonic()
        arguments = {**arguments, "deadline": deadline, "timeout": self.timeout}
        task = self.tasks.submit(principal, RENDER, arguments, wait=self.timeout)
        if task.status not in (SUCCESS, FAILURE):
            remaining = self.timeout - (time.monotonic() - started)
            task = self.tasks.wait(task.id, max(remaining, 0.0))
        if task.status == FAILURE:
            raise error_of(task)
        if task.status != SUCCESS:
            raise RenderTimeoutError(self.timeout, task.id)
        # Only a name inside the renders directory, whatever the row says.
        path = self._dir() / Path(str((task.result or {})["file"])).name
        try:
            return path.read_bytes()
        finally:
            path.unlink(missing_ok=True)

    def _run_task(self, principal: Principal, arguments: dict[str, Any]) -> dict[str, Any]:
        """The `render` task's handler, where the task runs: draw, write the file, name it."""
        deadline = float(arguments.get("deadline") or 0)
        late = RenderTimeoutError(float(arguments.get("timeout") or DEFAULT_TIMEOUT))
        if deadline and time.time() > deadline:
            raise late
        check_format(arguments)
        view = self.views.view(principal, arguments["dashboard"])
        # The converter holds the GIL for the whole drawing (seconds for a big dashboard, over a
        # second on its first use): in a child process it cannot starve the worker's heartbeat
        # (its jobs would be reaped as lost) nor its other threads.
        drawing = self._drawing_pool().submit(draw_view, view, arguments).result()
        if deadline and time.time() > deadline:
            raise late  # nobody reads it now: write no file
        extension = "png" if drawing.content_type == PNG else "pdf"
        name = f"{RENDERS_DIR}/{uuid.uuid4().hex}.{extension}"
        self._dir().mkdir(parents=True, exist_ok=True)
        partial = self.tasks.files_dir / f"{name}.part"
        partial.write_bytes(drawing.content)
        partial.replace(self.tasks.files_dir / name)  # the caller never reads half a file
        return {"file": name, "content_type": drawing.content_type}

    def _drawing_pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                # Spawned, not forked: the worker process runs threads and holds connections.
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_exit_with,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def close(self) -> None:
        """Stop the drawing processes (started by the first render a worker takes)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _dir(self) -> Path:
        return self.tasks.files_dir / RENDERS_DIR


FORMATS = ("png", "pdf", "document")


def _exit_with(parent: int) -> None:
    """In a drawing process: exit when the worker that started it is gone (even killed with -9)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="render-parent-watch", daemon=True).start()


def check_format(arguments: dict[str, Any]) -> None:
    """InvalidInputError unless the arguments ask for a known format."""
    if arguments.get("format") not in FORMATS:
        raise InvalidInputError("format", f"png, pdf or document, not {arguments.get('format')!r}")


def draw_view(view: DashboardView, arguments: dict[str, Any]) -> Drawing:
    """The view drawn as `arguments` ask (format, thumbnail, document options)."""
    kind = arguments["format"]
    if kind == "png":
        return Drawing(dashboard_png(view, thumbnail=bool(arguments.get("thumbnail"))), PNG)
    if kind == "pdf":
        return Drawing(dashboard_pdf(view), PDF)
    return Drawing(dashboard_document(view, options_from_json(arguments.get("options") or {})), PDF)


def error_of(task: BackgroundTask) -> OpenlyticsError:
    """The typed error a failed render task reported (its code, message and details kept)."""
    reported = (task.result or {}).get("error")
    if not isinstance(reported, dict):
        cause = (task.error or "").split(":", 1)[0]
        if cause in ("worker_lost", "interrupted"):  # its worker stopped: asking again may succeed
            return RenderFailedError("interrupted", f"{task.error} (task {task.id})")
        # Not a domain error: a bug or a crash on the worker, whose text stays in the task row.
        log.error("render task %s failed: %s", task.id, task.error)
        return RenderFailedError("internal_error", f"internal error: the render failed (task {task.id})")
    code = str(reported.get("code") or "internal_error")
    message = str(reported.get("message") or task.error or "the render failed")
    details = dict(reported.get("details") or {})
    if code == RenderTimeoutError.code:
        return RenderTimeoutError(float(details.get("seconds") or 0), task.id)
    typed = _TYPED.get(code)
    if typed is None:
        return RenderFailedError(code, message, details)
    error = typed.__new__(typed)
    OpenlyticsError.__init__(error, message, **details)
    for name, value in details.items():  # the fields each type carries (kind and id, field and reason)
        setattr(error, name, value)
    return error


def options_to_json(options: DocumentOptions) -> dict[str, Any]:
    """Document options as JSON (the chosen visualizations as a sorted list)."""
    data = dataclasses.asdict(options)
    if options.visualizations is not None:
        data["visualizations"] = sorted(options.visualizations)
    return data


def options_from_json(data: dict[str, Any]) -> DocumentOptions:
    """`options_to_json`'s inverse; unknown keys are ignored."""
    names = {f.name for f in dataclasses.fields(DocumentOptions)}
    values = {k: v for k, v in data.items() if k in names}
    if values.get("visualizations") is not None:
        values["visualizations"] = frozenset(values["visualizations"])
    return DocumentOptions(**values)
