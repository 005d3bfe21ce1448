"""The thread that reads due pipeline inputs (files, database tables) about once a second."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class InputPoller:
    """Calls `poll_due()` every `interval` seconds in a daemon thread until stopped.

    `poll_due` is `InputService.poll_due`: it claims each due input (so several servers can
    poll the same metadata database) and records failures on the input itself.
    """

    def __init__(self, poll_due: Callable[[], object], *, interval: float = 1.0) -> None:
        self._poll_due = poll_due
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling (once now, then every interval)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="openlytics-input-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current poll (which ends within about one batch)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll_due()
            except Exception:  # e.g. the metadata database is briefly away; try again next tick
                log.exception("polling pipeline inputs failed")
            self._stop.wait(self._interval)
