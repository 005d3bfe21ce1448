"""The incoming spool: durable appends, ordered claims, ack/release, recovery after a crash."""

from __future__ import annotations

import threading
from pathlib import Path

from openlytics.core.pipeline.spool import IncomingSpool


def events(start: int, n: int) -> list[dict[str, int]]:
    return [{"n": i} for i in range(start, start + n)]


def test_claimed_batches_keep_append_order_and_ack_forgets_them(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path)
    for start in (0, 3, 6):
        assert spool.append(7, events(start, 3)) == 3
    assert spool.pending(7) == 9
    assert spool.orgs_with_pending() == [7]
    batch = spool.claim(7, max_events=6)
    assert batch is not None and [e["n"] for e in batch.events] == list(range(6))
    assert spool.pending(7) == 3 and spool.in_flight(7) == 6
    spool.ack(batch)
    assert spool.in_flight(7) == 0
    rest = spool.claim(7)
    assert rest is not None and [e["n"] for e in rest.events] == [6, 7, 8]
    spool.ack(rest)
    assert spool.claim(7) is None and spool.pending(7) == 0 and spool.orgs_with_pending() == []


def test_a_file_larger_than_the_batch_is_claimed_whole(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path)
    spool.append(1, events(0, 10))
    spool.append(1, events(10, 1))
    batch = spool.claim(1, max_events=4)
    assert batch is not None and len(batch.events) == 10


def test_released_batches_come_back_first(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path)
    spool.append(1, events(0, 2))
    spool.append(1, events(2, 2))
    batch = spool.claim(1, max_events=2)
    assert batch is not None
    spool.release(batch)
    assert spool.pending(1) == 4
    again = spool.claim(1, max_events=10)
    assert again is not None and [e["n"] for e in again.events] == [0, 1, 2, 3]


def test_recover_releases_what_a_crashed_process_claimed(tmp_path: Path) -> None:
    crashed = IncomingSpool(tmp_path)
    crashed.append(5, events(0, 4))
    crashed.append(6, events(0, 1))
    assert crashed.claim(5) is not None  # never acked: the process "dies"
    (tmp_path / "5" / "tmp" / "half-written.jsonl").write_text('{"n": ')
    restarted = IncomingSpool(tmp_path)
    assert restarted.pending(5) == 0
    assert restarted.recover() == 4
    assert restarted.pending(5) == 4 and restarted.in_flight(5) == 0
    assert not list((tmp_path / "5" / "tmp").iterdir())
    assert sorted(restarted.orgs_with_pending()) == [5, 6]


def test_purge_deletes_waiting_events(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path)
    spool.append(2, events(0, 3))
    spool.append(2, events(3, 2))
    assert spool.purge(2) == 5
    assert spool.pending(2) == 0 and spool.claim(2) is None


def test_concurrent_claims_never_share_an_event(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path, fsync=False)
    for start in range(0, 2000, 10):
        spool.append(3, events(start, 10))
    seen: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        while (batch := spool.claim(3, max_events=30)) is not None:
            with lock:
                seen.extend(e["n"] for e in batch.events)
            spool.ack(batch)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(2000))


def test_events_keep_unicode_and_nesting(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path)
    original = [{"name": "Zoë 🚀", "nested": {"a": [1, {"b": None}]}, "x": 1.5}]
    spool.append(4, original)
    batch = spool.claim(4)
    assert batch is not None and batch.events == original


def _claimed_as(tmp_path: Path, org_id: int, owner: str) -> Path:
    """Re-label the organization's one claimed batch as claimed by `owner` ("host~pid")."""
    (claimed,) = (tmp_path / str(org_id) / "claimed").iterdir()
    relabelled = claimed.with_name(f"{owner}~{claimed.name.rsplit('~', 1)[-1]}")
    claimed.rename(relabelled)
    return relabelled


def test_recover_leaves_batches_of_live_processes_alone(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    spool = IncomingSpool(tmp_path)
    host = socket.gethostname()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for org_id, owner in (
            (1, f"{host}~{alive.pid}"),  # another API process on this machine, still working
            (2, f"{host}~{dead.pid}"),  # one that died
            (3, "elsewhere~123"),  # a process on another machine sharing the directory, recently
            (4, "elsewhere~456"),  # one on another machine, silent for long
        ):
            spool.append(org_id, events(0, 2))
            assert spool.claim(org_id) is not None
            claimed = _claimed_as(tmp_path, org_id, owner)
            if org_id == 4:
                old = time.time() - 3600
                os.utime(claimed, (old, old))
        assert spool.recover() == 4
        assert spool.in_flight(1) == 2 and spool.pending(1) == 0, "a live claimer keeps its batch"
        assert spool.pending(2) == 2, "a dead claimer's batch is back"
        assert spool.in_flight(3) == 2, "a recent claim of another host is left alone"
        assert spool.pending(4) == 2, "a stale claim of another host is released"
    finally:
        alive.kill()
        alive.wait()


def test_half_written_files_of_live_writers_are_kept(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    spool = IncomingSpool(tmp_path)
    spool.append(1, events(0, 1))
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        writing = tmp_path / "1" / "tmp" / f"{socket.gethostname()}~{alive.pid}~x-1.jsonl"
        writing.write_text('{"n": ')
        spool.recover()
        assert writing.exists(), "another process is still writing it"
    finally:
        alive.kill()
        alive.wait()


def test_periodic_recovery_asks_who_is_gone_and_keeps_this_processes_batches(tmp_path: Path) -> None:
    import subprocess
    import sys

    spool = IncomingSpool(tmp_path)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    asked: list[tuple[str, int]] = []

    def gone(host: str, pid: int, claimed_seconds_ago: float) -> bool:
        asked.append((host, pid))
        assert claimed_seconds_ago >= 0
        return host == "lost"  # say, its heartbeat stopped

    try:
        spool.append(1, events(0, 2))
        own = spool.claim(1)  # this process is working on it
        assert own is not None
        for org_id, owner in ((2, "lost~12"), (3, "beating~34")):
            spool.append(org_id, events(0, 3))
            assert spool.claim(org_id) is not None
            _claimed_as(tmp_path, org_id, owner)
        assert spool.claimed_by_others(2) and not spool.claimed_by_others(1)

        assert spool.recover(gone, keep_own=True) == 3
        assert spool.in_flight(1) == 2, "this process's own batch stays claimed"
        assert spool.pending(2) == 3, "the claim of a process gone by the predicate is back"
        assert spool.in_flight(3) == 3, "a process the predicate says is alive keeps its batch"
        assert ("lost", 12) in asked and ("beating", 34) in asked
        assert not spool.claimed_by_others(2)
    finally:
        alive.kill()
        alive.wait()


def test_a_batch_knows_the_spool_file_of_each_event(tmp_path: Path) -> None:
    spool = IncomingSpool(tmp_path)
    spool.append(1, events(0, 2))
    spool.append(1, events(2, 3))
    batch = spool.claim(1)
    assert batch is not None and batch.file_events == [2, 3]
    first, second = batch.files
    assert batch.file_of_events() == [first, first, second, second, second]
