"""The batch prefetcher used while storing results: order, errors, early stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest

from openlytics.core.jobs.prefetch import Prefetcher


def batches(n: int, *, fail_at: int | None = None, log: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    for i in range(n):
        if fail_at == i:
            raise RuntimeError(f"engine failed at batch {i}")
        if log is not None:
            log.append(i)
        yield pa.record_batch({"i": [i]})


def test_all_batches_arrive_in_order() -> None:
    with Prefetcher(batches(50)) as p:
        assert [b.column(0)[0].as_py() for b in p] == list(range(50))


def test_a_single_batch_starts_no_thread() -> None:
    before = threading.active_count()
    with Prefetcher(batches(1)) as p:
        assert len(list(p)) == 1
        assert threading.active_count() == before


def test_an_engine_error_reaches_the_consumer() -> None:
    with Prefetcher(batches(10, fail_at=5)) as p, pytest.raises(RuntimeError, match="batch 5"):
        list(p)


def test_closing_early_stops_the_producer() -> None:
    produced: list[int] = []
    with Prefetcher(batches(10_000, log=produced), depth=2) as p:
        for b in p:
            if b.column(0)[0].as_py() == 3:
                break
    time.sleep(0.05)
    count = len(produced)
    assert count < 20  # stopped a few batches ahead, not at the end
    time.sleep(0.1)
    assert len(produced) == count
