"""Long-lived transform processes (runtime/transform_pool.py) in the real sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openlytics.runtime.sandbox import Limits, Sandbox
from openlytics.runtime.transform_pool import TransformPool, TransformProcessError

COUNTER = """\
batches = 0


def transform(event):
    global batches
    if event.get("first"):
        batches += 1
    event["batch"] = batches
    event["tag"] = TAG
    return event
"""


def header(code: str, tag: str = "a", event_seconds: float = 5.0) -> bytes:
    modules = {"main": f"TAG = {tag!r}\n" + code}
    document = {
        "modules": modules,
        "secrets": {},
        "packages": [],
        "event_seconds": event_seconds,
        "detail": False,
    }
    return json.dumps(document).encode()


def events(n: int) -> list[bytes]:
    return [json.dumps({"n": i, "first": i == 0}).encode() for i in range(n)]


def results(lines: list[bytes]) -> list[list[object]]:
    return [json.loads(line) for line in lines]


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(
        hidden_paths=[tmp_path]
    )  # runs' directories in the default place the sandbox user can reach


@pytest.fixture
def pool(sandbox: Sandbox) -> Iterator[TransformPool]:
    pool = TransformPool(sandbox, Limits(cpu_seconds=60, wall_seconds=10, memory_mb=512), per_org=1)
    yield pool
    pool.close_all()


def test_one_process_serves_batch_after_batch_and_keeps_module_state(pool: TransformPool) -> None:
    code = header(COUNTER)
    for batch in (1, 2, 3):
        rows = results(pool.run(1, code, events(1000)))
        assert len(rows) == 1000
        assert {row[0] for row in rows} == {"ok"}
        assert {row[1]["batch"] for row in rows} == {batch}  # type: ignore[index]
        assert [row[1]["n"] for row in rows] == list(range(1000))  # type: ignore[index]
    assert pool.processes(1) == 1


def test_changed_code_gets_a_new_process(pool: TransformPool) -> None:
    pool.run(1, header(COUNTER, "a"), events(3))
    pool.run(1, header(COUNTER, "a"), events(3))
    rows = results(pool.run(1, header(COUNTER, "b"), events(3)))
    assert rows[0][1] == {"n": 0, "first": True, "batch": 1, "tag": "b"}  # state started afresh
    assert pool.processes(1) == 1  # the old version's process was closed


def test_organizations_never_share_a_process(pool: TransformPool) -> None:
    code = header(COUNTER)
    pool.run(1, code, events(2))
    pool.run(1, code, events(2))
    rows = results(pool.run(2, code, events(2)))
    assert rows[0][1]["batch"] == 1  # type: ignore[index]
    assert pool.processes(1) == 1 and pool.processes(2) == 1


def test_a_batch_past_its_deadline_is_killed_and_the_next_one_runs(sandbox: Sandbox) -> None:
    pool = TransformPool(sandbox, Limits(cpu_seconds=60, wall_seconds=1.5, memory_mb=512))
    try:
        slow = header("import time\n\ndef transform(event):\n    time.sleep(0.2)\n    return event\n")
        started = time.monotonic()
        with pytest.raises(TransformProcessError) as failure:
            pool.run(1, slow, events(50))
        assert time.monotonic() - started < 8
        assert failure.value.result.limit == "wall"
        assert pool.processes(1) == 0
        quick = header(COUNTER)
        assert len(pool.run(1, quick, events(5))) == 5
    finally:
        pool.close_all()


def test_a_process_that_dies_after_earlier_batches_is_retried_once_on_a_fresh_one(sandbox: Sandbox) -> None:
    # Each batch keeps 120 MB alive in the module: the third batch of one process passes the
    # 300 MB limit, so that process dies; a fresh process runs the same batch with room to spare.
    hog = """\
kept = []


def transform(event):
    if event.get("first"):
        kept.append(bytearray(120 * 1024 * 1024))
    event["held"] = len(kept)
    return event
"""
    pool = TransformPool(sandbox, Limits(cpu_seconds=60, wall_seconds=20, memory_mb=300))
    try:
        code = header(hog)
        held = [results(pool.run(1, code, events(2)))[0][1]["held"] for _ in range(3)]  # type: ignore[index]
        assert held == [1, 2, 1]  # the third batch ran again, alone, on a new process
    finally:
        pool.close_all()


def test_a_batch_that_alone_exceeds_memory_fails_without_retry(sandbox: Sandbox) -> None:
    hog = "def transform(event):\n    event['x'] = bytearray(900 * 1024 * 1024)\n    return event\n"
    pool = TransformPool(sandbox, Limits(cpu_seconds=60, wall_seconds=20, memory_mb=300))
    try:
        with pytest.raises(TransformProcessError) as failure:
            pool.run(1, header(hog), events(1))
        assert failure.value.result.limit == "memory"
    finally:
        pool.close_all()


def test_idle_processes_are_closed(sandbox: Sandbox) -> None:
    pool = TransformPool(sandbox, Limits(cpu_seconds=60, wall_seconds=10, memory_mb=512), idle_seconds=0.2)
    try:
        pool.run(1, header(COUNTER), events(2))
        assert pool.processes(1) == 1
        time.sleep(0.4)
        assert pool.close_idle() == 1
        assert pool.processes(1) == 0
        pool.run(1, header(COUNTER), events(2))
        pool.close_all()
        assert pool.processes(1) == 0
    finally:
        pool.close_all()


def test_printed_output_never_mixes_with_results(pool: TransformPool) -> None:
    code = header("def transform(event):\n    print('line one\\nline two')\n    return event\n")
    rows = results(pool.run(1, code, events(3)))
    assert [row[2] for row in rows] == ["line one\nline two\n"] * 3
