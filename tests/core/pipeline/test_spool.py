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
