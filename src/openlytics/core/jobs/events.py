"""In-process notification that a job finished, so waiting requests wake at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class JobEvents:
    """Events per watched job id; `notify` sets them. Other processes fall back to polling the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[int, tuple[threading.Event, int]] = {}

    @contextmanager
    def watch(self, job_id: int) -> Iterator[threading.Event]:
        """Subscribe before checking the job's state, so a notification in between is not lost."""
        with self._lock:
            event, count = self._events.get(job_id, (threading.Event(), 0))
            self._events[job_id] = (event, count + 1)
        try:
            yield event
        finally:
            with self._lock:
                event, count = self._events[job_id]
                if count <= 1:
                    del self._events[job_id]
                else:
                    self._events[job_id] = (event, count - 1)

    def notify(self, job_id: int) -> None:
        """Wake everyone watching `job_id`."""
        with self._lock:
            entry = self._events.get(job_id)
        if entry is not None:
            entry[0].set()
