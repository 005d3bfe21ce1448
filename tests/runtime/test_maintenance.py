"""The maintenance thread runs its task periodically and survives a failing run."""

from __future__ import annotations

import threading

from openlytics.runtime.maintenance import Maintenance


def test_task_runs_repeatedly_even_after_a_failure() -> None:
    calls: list[int] = []
    done = threading.Event()

    def task() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        if len(calls) >= 3:
            done.set()

    maintenance = Maintenance(task, interval=0.01)
    maintenance.start()
    assert done.wait(5)
    maintenance.stop()
    count = len(calls)
    assert count >= 3
    done.clear()
    assert not done.wait(0.05) and len(calls) == count  # stopped means stopped
