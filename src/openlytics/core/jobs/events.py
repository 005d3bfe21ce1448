"""In-process notification that a job finished, so waiting requests wake at once.

The runner hands the finished job and result to the waiters of its own process, which then answer
without reading them back from the store. Waiters in other processes poll the store instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Watch:
    """A subscription to one job: `event` is set on finish, `outcome` holds what the runner passed."""

    event: threading.Event = field(default_factory=threading.Event)
    outcome: Any = None
    watchers: int = 0


class JobEvents:
    """Watches per job id; `notify` sets them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[int, Watch] = {}

    @contextmanager
    def watch(self, job_id: int) -> Iterator[Watch]:
        """Subscribe before checking the job's state, so a notification in between is not lost."""
        with self._lock:
            watch = self._watches.setdefault(job_id, Watch())
            watch.watchers += 1
        try:
            yield watch
        finally:
            with self._lock:
                watch.watchers -= 1
                if watch.watchers <= 0:
                    self._watches.pop(job_id, None)

    def notify(self, job_id: int, outcome: Any = None) -> None:
        """Wake everyone watching `job_id`, handing them `outcome`."""
        with self._lock:
            watch = self._watches.get(job_id)
            if watch is not None:
                watch.outcome = outcome
        if watch is not None:
            watch.event.set()
