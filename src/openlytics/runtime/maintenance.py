"""Housekeeping that runs in the background of a server: retention of jobs and results, and the
liveness of job workers (`runtime/worker_liveness.py`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Maintenance:
    """Calls `task` every `interval` seconds in a daemon thread until stopped."""

    def __init__(
        self, task: Callable[[], object], *, interval: float, name: str = "openlytics-maintenance"
    ) -> None:
        self._task = task
        self._interval = interval
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (the first run happens one interval after start)."""
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop promptly."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._task()
            except Exception:  # housekeeping must never take the server down; try again next time
                log.exception("maintenance task failed")
