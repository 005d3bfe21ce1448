"""The pipeline worker: one batch per organization at a time, order kept, failures released and retried."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from openlytics.core.pipeline.spool import IncomingSpool, SpooledBatch
from openlytics.runtime.pipeline_worker import PipelineWorker


class RecordingProcessor:
    """Stands in for PipelineProcessor.process_batch: records what it saw, fails on demand."""

    def __init__(self, spool: IncomingSpool) -> None:
        self.spool = spool
        self.seen: dict[int, list[int]] = {}
        self.fail_times = 0
        self.running: set[int] = set()
        self.overlap = False
        self.lock = threading.Lock()

    def process_batch(self, batch: SpooledBatch) -> Any:
        with self.lock:
            if batch.org_id in self.running:
                self.overlap = True
            self.running.add(batch.org_id)
        try:
            if self.fail_times:
                self.fail_times -= 1
                self.spool.release(batch)
                raise RuntimeError("metadata store unavailable")
            with self.lock:
                self.seen.setdefault(batch.org_id, []).extend(e["n"] for e in batch.events)
            self.spool.ack(batch)
        finally:
            with self.lock:
                self.running.discard(batch.org_id)


def test_the_worker_processes_each_organization_in_order(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path, fsync=False)
    processor = RecordingProcessor(spool)
    worker = PipelineWorker(spool, processor, workers=3, poll_seconds=0.01, max_batch_events=7)  # type: ignore[arg-type]
    worker.start()
    try:
        for start in range(0, 100, 5):
            for org in (1, 2, 3):
                spool.append(org, [{"n": n} for n in range(start, start + 5)])
            worker.wake()
        for org in (1, 2, 3):
            worker.drain(org, timeout=30)
    finally:
        worker.stop()
    assert processor.seen == {org: list(range(100)) for org in (1, 2, 3)}
    assert not processor.overlap


def test_a_failed_batch_is_released_and_retried(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path, fsync=False)
    processor = RecordingProcessor(spool)
    processor.fail_times = 1
    worker = PipelineWorker(spool, processor, poll_seconds=0.01)  # type: ignore[arg-type]
    spool.append(9, [{"n": 1}, {"n": 2}])
    worker.start()
    try:
        worker.drain(9, timeout=30)
    finally:
        worker.stop()
    assert processor.seen == {9: [1, 2]}


def test_drain_without_a_running_worker_processes_inline(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path, fsync=False)
    processor = RecordingProcessor(spool)
    worker = PipelineWorker(spool, processor)  # type: ignore[arg-type]
    spool.append(4, [{"n": 1}])
    spool.append(4, [{"n": 2}])
    worker.drain(4, timeout=5)
    assert processor.seen == {4: [1, 2]}


class TwoPhaseProcessor(RecordingProcessor):
    """Has `prepare` and `complete`: the worker overlaps batches of one organization."""

    def __init__(self, spool: IncomingSpool) -> None:
        super().__init__(spool)
        self.completing: set[int] = set()
        self.prepared_during_complete = False

    def prepare(self, batch: SpooledBatch) -> list[int]:
        with self.lock:
            if batch.org_id in self.completing:
                self.prepared_during_complete = True
        return [e["n"] for e in batch.events]

    def complete(self, batch: SpooledBatch, prepared: list[int]) -> None:
        with self.lock:
            if batch.org_id in self.completing:
                self.overlap = True
            self.completing.add(batch.org_id)
        try:
            time.sleep(0.01)
            with self.lock:
                failing = self.fail_times > 0
                self.fail_times -= failing
            if failing:
                self.spool.release(batch)
                raise RuntimeError("warehouse unavailable")
            with self.lock:
                self.seen.setdefault(batch.org_id, []).extend(prepared)
            self.spool.ack(batch)
        finally:
            with self.lock:
                self.completing.discard(batch.org_id)


def test_batches_of_an_organization_overlap_but_complete_in_order_even_after_a_failure(
    tmp_path: Path,
) -> None:
    spool = IncomingSpool(tmp_path, fsync=False)
    processor = TwoPhaseProcessor(spool)
    processor.fail_times = 1
    worker = PipelineWorker(spool, processor, workers=3, poll_seconds=0.01, max_batch_events=7)  # type: ignore[arg-type]
    assert worker.batches_per_org == 2
    for start in range(0, 100, 5):
        for org in (1, 2):
            spool.append(org, [{"n": n} for n in range(start, start + 5)])
    worker.start()
    try:
        for org in (1, 2):
            worker.drain(org, timeout=30)
    finally:
        worker.stop()
    assert processor.seen == {org: list(range(100)) for org in (1, 2)}
    assert not processor.overlap
    assert processor.prepared_during_complete
