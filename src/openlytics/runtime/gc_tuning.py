"""Garbage-collector settings for a long-running server process.

CPython's cyclic collector runs its youngest generation every 700 net allocations and, every
hundred of those, scans every object of the process. A pipeline batch builds tens of thousands of
short-lived dicts (events), none in a reference cycle, so with the defaults a third of the
pipeline's time went to collections that found nothing (measured: benchmarks/pipeline.py).

`tune_for_server()` raises the youngest generation's threshold (cyclic garbage is still
collected, in larger, rarer steps; objects without cycles are freed by reference counting as
always) and, once startup is done, moves what exists then (modules, the ORM's metadata, the
app's services) out of the collector's sight with `gc.freeze()`: they live as long as the
process, and scanning them was the cost of every full collection.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
OLDER_THRESHOLDS = (20, 20)


def tune_for_server() -> None:
    """Apply the server's collector thresholds (call at start)."""
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


def freeze_startup_objects() -> None:
    """Collect once, then exclude every object alive now from later collections (call when the
    server is ready)."""
    gc.collect()
    gc.freeze()
