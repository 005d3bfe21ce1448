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

from benchmarks.scenarios import (
    Scenario,
    fetch_sql,
    generation_sql,
    load_scenarios,
    scenarios,
    write_load_files,
)
from benchmarks.server import ServerProcess, settings_for
from openlytics.client import Client

console = Console(width=max(Console().width, 120))  # the report does not fit in 80 columns


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
    return f"{seconds * 1000:,.1f} ms" if abs(seconds) < 10 else f"{seconds:,.2f} s"


def signed(seconds: float) -> str:
    """A difference for the report, with its sign."""
    return ("+" if seconds >= 0 else "-") + milliseconds(abs(seconds))


@dataclass(frozen=True)
class Breakdown:
    """Where the time of an Arrow fetch goes: running and storing, then downloading and decoding."""

    run: float
    fetch: float
    compressed_bytes: int


def arrow_breakdown(client: Client, sql: str, repeat: int) -> Breakdown:
    """Medians of `run_sql` alone and of `to_arrow()` on an existing result."""
    result = client.run_sql(sql, max_age=0)
    runs = [timed(lambda: client.run_sql(sql, max_age=0))[0] for _ in range(repeat)]
    fetches = [timed(result.to_arrow)[0] for _ in range(repeat)]
    size = len(client.results.read(result.id, "arrow"))
    return Breakdown(statistics.median(runs), statistics.median(fetches), size)


def throughput(m: Measurement) -> str:
    """Rows per second on both sides (engine / openlytics), for scenarios that move rows."""
    rows = m.scenario.rows
    if not rows or m.engine <= 0 or m.openlytics <= 0:
        return "—"
    return f"{_rate(rows / m.engine)} / {_rate(rows / m.openlytics)}"


def _rate(rows_per_second: float) -> str:
    return f"{rows_per_second / 1e6:.2f}M" if rows_per_second >= 1e6 else f"{rows_per_second / 1e3:.0f}k"


def report(measurements: list[Measurement], title: str) -> Table:
    """The comparison table."""
    table = Table(title=title)
    table.add_column("scenario", no_wrap=True)
    for name in ("engine median", "openlytics median", "ratio", "difference", "rows/s", "target", "result"):
        table.add_column(name, justify="right")
    for m in measurements:
        target = m.scenario.target
        verdict = "—" if target is None else ("[green]pass" if passed(m) else "[red]fail")
        table.add_row(
            m.scenario.name,
            milliseconds(m.engine),
            milliseconds(m.openlytics),
            f"{m.openlytics / m.engine:,.1f}x" if m.engine > 0 else "—",
            signed(m.openlytics - m.engine),
            throughput(m),
            target.describe() if target else "—",
            verdict,
        )
    return table


def notes(round_trips: int, breakdown: Breakdown, fetch_rows: int) -> list[str]:
    """What the table does not show."""
    return [
        f"A small query through the SDK takes {round_trips} HTTP round trip(s).",
        f"{fetch_rows:,} rows into Arrow: {milliseconds(breakdown.run)} running and storing the result "
        f"on the server, {milliseconds(breakdown.fetch)} downloading "
        f"({breakdown.compressed_bytes / 1e6:,.1f} MB) and decoding it in the SDK.",
    ]


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
    file_rows = 200_000 if args.quick else 5_000_000
    batch_rows = 100_000

    with tempfile.TemporaryDirectory(prefix="openlytics-bench-") as tmp:
        tmp_path = Path(tmp)
        con = duckdb.connect(str(tmp_path / "engine.duckdb"))
        con.execute(f"SET threads = {args.threads}")
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        with console.status(f"generating {table_rows:,} rows in a raw DuckDB file"):
            con.execute(generation_sql(table_rows))
        with console.status(f"writing {file_rows:,} rows as CSV and Parquet files"):
            files = write_load_files(con, tmp_path, file_rows, batch_rows)

        with (
            console.status("starting a live server"),
            live_server(tmp_path / "server", args.threads, args.memory_limit, args.in_process) as (url, key),
        ):
            transport = CountingTransport()
            with Client(url, key, timeout=600, transport=transport) as client:
                with console.status(f"generating {table_rows:,} rows in the server's warehouse"):
                    client.run_sql(generation_sql(table_rows), wait=600)
                client.run_sql("SELECT 1")
                before = transport.requests
                assert client.run_sql("SELECT 1", max_age=0).rows == [{"1": 1}]
                round_trips = transport.requests - before
                measurements = []
                every = scenarios(con, client, fetch_rows=fetch_rows, quick=args.quick)
                every += load_scenarios(con, client, files, quick=args.quick)
                for scenario in every:
                    with console.status(f"measuring {scenario.name} ({scenario.repeat} runs per side)"):
                        measurements.append(measure(scenario))
                with console.status("measuring where the Arrow fetch spends its time"):
                    breakdown = arrow_breakdown(client, fetch_sql(fetch_rows), 3 if args.quick else 10)
        con.close()

    title = (
        f"openlytics vs DuckDB {duckdb.__version__} — {table_rows:,}-row table, {args.threads} threads"
        + (", quick" if args.quick else "")
    )
    console.print(report(measurements, title))
    for note in notes(round_trips, breakdown, fetch_rows):
        console.print(note, style="dim")
    missed = [m.scenario.name for m in measurements if not passed(m)]
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
