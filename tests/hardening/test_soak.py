"""Soak (issue 9): a bounded mixed workload — ad-hoc and saved queries, dataset appends, pipeline
events, dashboard pages — from many concurrent clients against a real `openlytics serve` on
loopback. Zero errors; the server's memory and open files stay flat. The figures are printed
(`pytest -s`). CI runs it for OPENLYTICS_SOAK_SECONDS (default 40); the full length is a flag away:
`OPENLYTICS_SOAK_SECONDS=600 python -m pytest -s tests/hardening/test_soak.py`."""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.hardening.test_crash_safety import Embedded

SECONDS = float(os.environ.get("OPENLYTICS_SOAK_SECONDS", "40"))
CLIENTS = int(os.environ.get("OPENLYTICS_SOAK_CLIENTS", "8"))
pytestmark = pytest.mark.duckdb_warehouse


def _rss_and_fds(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss_kb * 1024, len(os.listdir(f"/proc/{pid}/fd"))


def test_a_mixed_workload_runs_without_errors_in_flat_memory(tmp_path: Path) -> None:
    server = Embedded(tmp_path / "data").start()
    try:
        assert server.process is not None
        pid = server.process.pid
        with server.client() as c:
            columns = [{"name": "n", "type": "int64"}, {"name": "label", "type": "string"}]
            dataset = c.post("/api/v1/datasets", json={"name": "soak", "columns": columns}).json()
            query = c.post(
                "/api/v1/queries", json={"name": "soak", "sql": "SELECT count(*) AS n FROM soak"}
            ).json()
            dashboard = c.post("/api/v1/dashboards", json={"name": "soak"}).json()
            c.post(f"/api/v1/dashboards/{dashboard['id']}/widgets", json={"text": "# soak"})
            token = c.post(f"/api/v1/dashboards/{dashboard['id']}/share").json()["token"]
            webhook = c.post("/api/v1/pipeline/inputs", json={"name": "soak_events", "type": "rest"}).json()
        webhook_token = webhook["configuration"]["token"]
        sequence = itertools.count()

        def adhoc(c: httpx.Client) -> httpx.Response:
            return c.post("/api/v1/runs", json={"sql": f"SELECT {next(sequence)} AS n", "wait": 30})

        def saved(c: httpx.Client) -> httpx.Response:
            return c.post(f"/api/v1/queries/{query['id']}/run", json={"max_age": 0, "wait": 30})

        def append(c: httpx.Client) -> httpx.Response:
            start = next(sequence)
            rows = [{"n": start + i, "label": f"soak {i}"} for i in range(20)]
            return c.post(f"/api/v1/datasets/{dataset['id']}/rows", json=rows)

        def events(c: httpx.Client) -> httpx.Response:
            batch = [{"seq": next(sequence), "kind": "soak"} for _ in range(50)]
            return c.post(f"/alooma/inputs/rest/{webhook_token}", json=batch)

        def page(c: httpx.Client) -> httpx.Response:
            return c.get(f"/public/dashboards/{token}")

        operations: list[Callable[[httpx.Client], httpx.Response]] = [adhoc, saved, append, events, page]
        done: Counter[str] = Counter()
        errors: list[str] = []
        samples: list[tuple[float, int, int]] = []
        stop = threading.Event()
        lock = threading.Lock()

        def client(number: int) -> None:
            with server.client() as c:
                for step in itertools.count(number):
                    if stop.is_set():
                        return
                    operation = operations[step % len(operations)]
                    try:
                        answer = operation(c)
                        ok = answer.status_code < 400
                        problem = f"{operation.__name__}: {answer.status_code} {answer.text[:200]}"
                    except httpx.HTTPError as exc:
                        ok, problem = False, f"{operation.__name__}: {type(exc).__name__}: {exc}"
                    with lock:
                        done[operation.__name__] += 1
                        if not ok:
                            errors.append(problem)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < SECONDS:
            samples.append((time.monotonic() - started, *_rss_and_fds(pid)))
            time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started

        warm = [s for s in samples if s[0] >= min(10.0, SECONDS / 4)]
        third = max(1, len(warm) // 3)
        first_rss = statistics.median(s[1] for s in warm[:third])
        last_rss = statistics.median(s[1] for s in warm[-third:])
        first_fds, last_fds = max(s[2] for s in warm[:third]), max(s[2] for s in warm[-third:])
        total = sum(done.values())
        print(
            f"\nsoak: {CLIENTS} clients, {elapsed:.0f} s, {total} requests ({total / elapsed:.0f}/s): "
            + ", ".join(f"{name} {n}" for name, n in sorted(done.items()))
            + f"; errors {len(errors)}; server RSS {first_rss / 2**20:.0f} -> {last_rss / 2**20:.0f} MiB"
            + f", open files {first_fds} -> {last_fds}"
        )
        assert not errors, (errors[:10], server.log()[-4000:])
        assert all(done[op.__name__] > 0 for op in operations), done
        assert last_fds <= first_fds + 16, (first_fds, last_fds)
        assert last_rss <= first_rss * 1.5 + 64 * 2**20, (first_rss, last_rss)
        with server.client() as c:  # and everything it was sent is there
            loaded = c.get(f"/api/v1/datasets/{dataset['id']}").json()["row_count"]
        assert loaded == 20 * done["append"]
    finally:
        server.stop()
