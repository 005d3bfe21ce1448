"""One watchdog thread for every job's time limit (a thread per job costs more than a fast query)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Deadlines:
    """Calls a callback when its deadline passes, unless cancelled first."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def schedule(self, seconds: float, callback: Callable[[], object]) -> int:
        """Arrange `callback()` in `seconds`; returns a handle for `cancel`."""
        handle = next(self._ids)
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + seconds, handle, callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="openlytics-deadlines", daemon=True)
                self._thread.start()
            self._cv.notify()
        return handle

    def cancel(self, handle: int) -> None:
        """Forget a deadline (it will not fire)."""
        with self._cv:
            self._cancelled.add(handle)

    def stop(self) -> None:
        """Stop the watchdog thread."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout)
                if self._stopping:
                    return
                _, handle, callback = heapq.heappop(self._heap)
                if handle in self._cancelled:
                    self._cancelled.discard(handle)
                    continue
            try:
                callback()
            except Exception:  # a failing callback must not stop the other deadlines
                log.exception("deadline callback failed")
