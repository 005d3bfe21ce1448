"""Peak memory of a real server process while it loads a large CSV file into a dataset.

    python -m benchmarks.memory            # a ~2.2 GB CSV (40 million rows)
    python -m benchmarks.memory --quick    # ~110 MB (2 million rows)

The server runs as its own process (`openlytics serve`), so its peak resident memory (`VmHWM` in
/proc) is its own. The file is streamed by the SDK, received to disk, parsed by DuckDB and written
into the warehouse batch by batch, so memory is bounded by configuration, not by the file: the
warehouse and the file loader each keep at most `OPENLYTICS_WAREHOUSE_MEMORY_LIMIT` (set to
512 MB here), plus Arrow batches in flight.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

from openlytics.client import Client

ROWS_FULL = 40_000_000
ROWS_QUICK = 2_000_000
MEMORY_LIMIT_MB = 512
# Two DuckDB instances (warehouse, loader) at their limit, plus batches and the server itself.
TARGET_GROWTH_MB = 2 * MEMORY_LIMIT_MB + 256


def write_csv(path: Path, rows: int) -> None:
    """A CSV of `rows` rows with integer, float, text and date columns, written by DuckDB."""
    duckdb.sql(
        f"COPY (SELECT range AS id, (range % 1000)::INT AS k, random() AS v, 'name ' || (range % 5000) AS s, "
        f"DATE '2020-01-01' + (range % 2000)::INT AS d FROM range({rows})) TO '{path}' (HEADER)"
    )


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    """Start a server, load the file through the SDK, print the peak memory growth against the file."""
    parser = argparse.ArgumentParser(description="Peak server memory while loading a large CSV.")
    parser.add_argument("--quick", action="store_true", help=f"{ROWS_QUICK:,} rows instead of {ROWS_FULL:,}")
    rows = ROWS_QUICK if parser.parse_args(argv).quick else ROWS_FULL
    with tempfile.TemporaryDirectory(prefix="openlytics-memory-") as tmp:
        work = Path(tmp)
        csv = work / "big.csv"
        write_csv(csv, rows)
        size_mb = csv.stat().st_size / 1024**2
        key, port = "olk_bench_" + secrets.token_urlsafe(16), free_port()
        env = {
            **os.environ,
            "OPENLYTICS_ADMIN_API_KEY": key,
            "OPENLYTICS_WAREHOUSE_MEMORY_LIMIT": f"{MEMORY_LIMIT_MB}MB",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openlytics.cli.main",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(work / "data"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            with Client(url, key, timeout=3600) as client:
                dataset = client.datasets.create("big")
                before = peak_rss_mb(server.pid)
                started = time.perf_counter()
                result = client.datasets.reload(dataset, csv)
                seconds = time.perf_counter() - started
                after = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    growth = after - before
    verdict = "pass" if growth <= TARGET_GROWTH_MB else "fail"
    print(f"loaded {result.row_count:,} rows from a {size_mb:,.0f} MiB CSV in {seconds:.1f} s")
    print(f"server peak RSS: {before:,.0f} MiB before, {after:,.0f} MiB after (+{growth:,.0f} MiB)")
    print(
        f"target: growth <= {TARGET_GROWTH_MB:,} MiB whatever the file's size "
        f"(warehouse memory limit {MEMORY_LIMIT_MB} MB): {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
