"""Crash safety of the embedded server (issue 9): `kill -9` of a real `openlytics serve` (SQLite
metadata, DuckDB warehouse, local executor) in the middle of a dataset reload, an append, a pipeline
batch and its first start's migrations. After a restart on the same data directory the data is the
old or the new version, never a mix; every event is loaded exactly once; the server serves."""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_serve import free_port
from tests.cli.test_serve_processes import KEY, serve

pytestmark = pytest.mark.duckdb_warehouse
BIG_ROWS = 1_000_000


@dataclass
class Embedded:
    """One `openlytics serve` process on a data directory that outlives it; its output goes to
    `server.log` beside the data directory (a pipe nobody reads would fill and stall the server)."""

    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "server.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> Embedded:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        executable = shutil.which("openlytics")
        assert executable is not None, "the console script is not installed"
        env = {**os.environ, "OPENLYTICS_ADMIN_API_KEY": KEY, "OPENLYTICS_SCHEDULER_POLL_SECONDS": "0.2"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while True:
            assert self.process.poll() is None, self.log()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no shutdown code runs
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120)

    def sql(self, statement: str) -> list[dict[str, Any]]:
        with self.client() as c:
            answer = c.post("/api/v1/runs", json={"sql": statement, "wait": 60, "max_age": 0})
        assert answer.status_code in (200, 201), answer.text
        return list(answer.json()["result"]["rows"])


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    server = Embedded(tmp_path / "data")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "big.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["n", "label"])
        writer.writerows((i, f"row {i}") for i in range(BIG_ROWS))
    return path


def _in_background(work: Any) -> threading.Thread:
    def swallow() -> None:
        with contextlib.suppress(httpx.TransportError):  # the server dies under the request
            work()

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    return thread


def _dataset(server: Embedded, name: str) -> dict[str, Any]:
    with server.client() as c:
        found = [
            d for d in c.get("/api/v1/datasets", params={"q": name}).json()["items"] if d["name"] == name
        ]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("kill_after", [0.5, 2.0])
def test_a_reload_killed_midway_leaves_the_old_or_the_new_version(
    embedded: Embedded, big_csv: Path, kill_after: float
) -> None:
    name = f"kept_{uuid.uuid4().hex[:6]}"
    with embedded.client() as c:
        created = c.post("/api/v1/datasets", json={"name": name})
        assert created.status_code == 201, created.text
        ds = created.json()["id"]
        first = c.put(
            f"/api/v1/datasets/{ds}/data", content=b"n\n1\n2\n3\n", headers={"Content-Type": "text/csv"}
        )
        assert first.status_code == 200, first.text

    def reload() -> None:
        with embedded.client() as c, big_csv.open("rb") as body:
            c.put(f"/api/v1/datasets/{ds}/data", content=body, headers={"Content-Type": "text/csv"})

    thread = _in_background(reload)
    time.sleep(kill_after)
    embedded.kill()
    thread.join(timeout=60)
    embedded.start()

    after = _dataset(embedded, name)
    counted = embedded.sql(f"SELECT count(*) AS n FROM {name}")[0]["n"]
    columns = [c["name"] for c in after["columns"]]
    assert (after["row_count"], counted, columns) in ((3, 3, ["n"]), (BIG_ROWS, BIG_ROWS, ["n", "label"]))
    with embedded.client() as c:  # and the next write works
        again = c.put(f"/api/v1/datasets/{ds}/data", content=b"n\n7\n", headers={"Content-Type": "text/csv"})
    assert again.status_code == 200, again.text
    assert embedded.sql(f"SELECT n FROM {name}") == [{"n": 7}]


def test_an_append_killed_midway_adds_all_rows_or_none(embedded: Embedded) -> None:
    name = f"appended_{uuid.uuid4().hex[:6]}"
    rows = [{"n": i, "label": f"appended {i}"} for i in range(300_000)]
    with embedded.client() as c:
        columns = [{"name": "n", "type": "int64"}, {"name": "label", "type": "string"}]
        created = c.post("/api/v1/datasets", json={"name": name, "columns": columns})
        assert created.status_code == 201, created.text
        ds = created.json()["id"]
        first = c.post(f"/api/v1/datasets/{ds}/rows", json=rows[:2])
        assert first.status_code == 200, first.text

    def append() -> None:
        with embedded.client() as c:
            c.post(f"/api/v1/datasets/{ds}/rows", json=rows)

    thread = _in_background(append)
    time.sleep(1.0)
    embedded.kill()
    thread.join(timeout=60)
    embedded.start()
    counted = embedded.sql(f"SELECT count(*) AS n FROM {name}")[0]["n"]
    assert counted in (2, 2 + len(rows))
    assert _dataset(embedded, name)["row_count"] == counted


SLOW_TRANSFORM = "import time\n\ndef transform(event):\n    time.sleep(0.0004)\n    return event\n"


def test_a_pipeline_batch_killed_midway_loads_every_event_exactly_once(embedded: Embedded) -> None:
    events = 12_000
    with embedded.client() as c:
        assert c.put("/api/v1/pipeline/code/modules", json={"main": SLOW_TRANSFORM}).status_code == 200
        record = c.post("/api/v1/pipeline/inputs", json={"name": "crash", "type": "rest"}).json()
    token = record["configuration"]["token"]
    for start in range(0, events, 1000):
        batch = [{"id": i} for i in range(start, start + 1000)]
        answer = httpx.post(f"{embedded.url}/alooma/inputs/rest/{token}", json=batch, timeout=60)
        assert answer.status_code == 200, answer.text
    time.sleep(2.5)  # the worker is in the middle of the batches
    embedded.kill()
    embedded.start()

    with embedded.client() as c:
        deadline = time.monotonic() + 120
        while True:
            types = c.get("/api/v1/pipeline/event-types").json()["items"]
            table = types[0]["table_name"] if types else None
            loaded = embedded.sql(f"SELECT count(*) AS n FROM {table}")[0]["n"] if table else 0
            if loaded >= events or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    counts = embedded.sql(f"SELECT count(*) AS n, count(DISTINCT id) AS ids FROM {table}")[0]
    assert counts == {"n": events, "ids": events}, counts


@pytest.mark.parametrize("kill_after", [0.3, 0.8])
def test_the_first_start_killed_during_migrations_starts_cleanly_next_time(
    tmp_path: Path, kill_after: float
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    first = serve(data_dir, port, {})
    time.sleep(kill_after)
    first.kill()
    first.communicate(timeout=30)
    server = Embedded(data_dir).start()
    try:
        assert server.sql("SELECT 41 + 1 AS n") == [{"n": 42}]
        with server.client() as c:
            assert c.get("/api/v1/queries").status_code == 200
    finally:
        server.stop()
