"""Benchmark openlytics against the raw engine it runs on, in one run, and print a comparison.

    python -m benchmarks.run [--quick] [--in-process]
    python benchmarks/run.py [--quick]

The same table is generated (by the same SQL) in the server's warehouse, through the API, and in a
separate DuckDB file opened in-process. Every openlytics run uses max_age=0, so nothing is cached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.scenarios import Scenario, generation_sql, scenarios
from benchmarks.server import ServerProcess, settings_for
from openlytics.client import Client

console = Console()


@dataclass(frozen=True)
class Measurement:
    """Medians (seconds) of one scenario on both sides."""

    scenario: Scenario
    engine: float
    openlytics: float


class CountingTransport(httpx.BaseTransport):
    """Counts HTTP round trips made by the SDK."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request and count it."""
        self.requests += 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self._inner.close()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, value) of one call."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def measure(scenario: Scenario) -> Measurement:
    """Warm both sides up, then alternate them `repeat` times so drift hits both alike."""
    _, engine_value = timed(scenario.engine)
    _, openlytics_value = timed(scenario.openlytics)
    if scenario.check is not None:
        scenario.check(engine_value, openlytics_value)
    del engine_value, openlytics_value
    engine, openlytics = [], []
    for _ in range(scenario.repeat):
        engine.append(timed(scenario.engine)[0])
        openlytics.append(timed(scenario.openlytics)[0])
    return Measurement(scenario, statistics.median(engine), statistics.median(openlytics))


def passed(m: Measurement) -> bool:
    """True unless the scenario has a target and missed it."""
    return m.scenario.target is None or m.scenario.target.met(m.engine, m.openlytics)


def milliseconds(seconds: float) -> str:
    """A duration for the report."""
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def report(measurements: list[Measurement], round_trips: int, title: str) -> Table:
    """The comparison table."""
    table = Table(title=title)
    for name in ("scenario", "engine median", "openlytics median", "ratio", "difference", "target", "result"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for m in measurements:
        target = m.scenario.target
        verdict = "—" if target is None else ("[green]pass" if passed(m) else "[red]fail")
        table.add_row(
            m.scenario.name,
            milliseconds(m.engine),
            milliseconds(m.openlytics),
            f"{m.openlytics / m.engine:,.1f}x" if m.engine > 0 else "—",
            f"+{milliseconds(m.openlytics - m.engine)}",
            target.describe() if target else "—",
            verdict,
        )
    table.caption = f"SELECT 1 through the SDK took {round_trips} HTTP round trip(s) per run."
    return table


@contextmanager
def live_server(data_dir: Path, threads: int, memory: str, in_process: bool) -> Iterator[tuple[str, str]]:
    """(url, admin key) of a server on a free port, in a child process unless `in_process`."""
    if in_process:
        from openlytics.testing import LiveServer

        with LiveServer(settings_for(data_dir, threads, memory)) as server:  # type: ignore[arg-type]
            yield server.url, server.admin_key
    else:
        with ServerProcess(data_dir, threads, memory) as process:
            yield process.url, process.admin_key


def main(argv: list[str] | None = None) -> int:
    """Run every scenario and print the report; with --strict, exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rows and repetitions")
    parser.add_argument("--in-process", action="store_true", help="run the server in this process (a thread)")
    parser.add_argument(
        "--threads", type=int, default=min(4, os.cpu_count() or 1), help="engine threads, both sides"
    )
    parser.add_argument("--memory-limit", default="4GB", help="engine memory limit, both sides")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    table_rows = 500_000 if args.quick else 5_000_000
    fetch_rows = 100_000 if args.quick else 1_000_000

    with tempfile.TemporaryDirectory(prefix="openlytics-bench-") as tmp:
        tmp_path = Path(tmp)
        con = duckdb.connect(str(tmp_path / "engine.duckdb"))
        con.execute(f"SET threads = {args.threads}")
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        with console.status(f"generating {table_rows:,} rows in a raw DuckDB file"):
            con.execute(generation_sql(table_rows))

        with console.status("starting a live server"), live_server(
            tmp_path / "server", args.threads, args.memory_limit, args.in_process
        ) as (url, key):
            transport = CountingTransport()
            with Client(url, key, timeout=600, transport=transport) as client:
                with console.status(f"generating {table_rows:,} rows in the server's warehouse"):
                    client.run_sql(generation_sql(table_rows), wait=600)
                client.run_sql("SELECT 1")
                before = transport.requests
                assert client.run_sql("SELECT 1", max_age=0).rows == [{"1": 1}]
                round_trips = transport.requests - before
                measurements = []
                for scenario in scenarios(con, client, fetch_rows=fetch_rows, quick=args.quick):
                    with console.status(f"measuring {scenario.name} ({scenario.repeat} runs per side)"):
                        measurements.append(measure(scenario))
        con.close()

    title = (
        f"openlytics vs DuckDB {duckdb.__version__} — {table_rows:,}-row table, {args.threads} threads"
        + (", quick" if args.quick else "")
    )
    console.print(report(measurements, round_trips, title))
    missed = [m.scenario.name for m in measurements if not passed(m)]
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
