"""`openlytics serve --workers 2`: two API processes on one port sharing PostgreSQL metadata and
warehouse; refused where a store only one process may open is in use."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.cli.test_serve import free_port
from tests.conftest import POSTGRES_URL, FreshPostgresDatabase, FreshPostgresWarehouse

pytestmark = pytest.mark.postgres

KEY = "olk_processes_test_key_0123456789"


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    metadata, warehouse = FreshPostgresDatabase.create("procmeta"), FreshPostgresWarehouse.create("procwh")
    try:
        yield metadata.url, warehouse.url
    finally:
        metadata.drop()
        warehouse.drop()


def serve(tmp_path: Path, port: int, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    executable = shutil.which("openlytics")
    assert executable is not None, "the console script is not installed"
    command = [executable, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path)]
    return subprocess.Popen(
        [*command, *args],
        env={**os.environ, "OPENLYTICS_ADMIN_API_KEY": KEY, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert server.poll() is None, server.stdout.read() if server.stdout else "server exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


def stop(server: subprocess.Popen[str]) -> str:
    server.terminate()
    try:
        out, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    return out or ""


def test_two_api_processes_share_one_port_and_one_store(tmp_path: Path, databases: tuple[str, str]) -> None:
    metadata_url, warehouse_url = databases
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"OPENLYTICS_DATABASE_URL": metadata_url, "OPENLYTICS_WAREHOUSE_URL": warehouse_url}
    server = serve(tmp_path, port, env, "--workers", "2")
    try:
        wait_ready(server, url)
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            source = client.post("/api/v1/data-sources", json={"name": "pg", "url": POSTGRES_URL})
            assert source.status_code == 201, source.text

            def run(i: int) -> None:
                # A connection of its own each time: the kernel hands new connections to either process.
                answer = httpx.post(
                    f"{url}/api/v1/runs",
                    headers=headers,
                    timeout=60,
                    json={"sql": f"SELECT {i} AS i", "data_source_id": source.json()["id"], "wait": 30},
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["result"]["rows"] == [{"i": i}]

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(run, range(60)))
            # Jobs run in the API process that took the request (local executor): its name says which.
            engine = sa.create_engine(metadata_url, poolclass=sa.pool.NullPool)
            with engine.connect() as conn:
                workers = set(
                    conn.scalars(sa.text("SELECT DISTINCT worker FROM jobs WHERE worker IS NOT NULL"))
                )
            engine.dispose()
            assert len(workers) == 2, f"both processes answer: {workers}"
            # The warehouse is PostgreSQL: a table made through one process is read through the other.
            made = client.post("/api/v1/runs", json={"sql": "CREATE TABLE t AS SELECT 1 AS x", "wait": 30})
            assert made.status_code == 200, made.text
            for _ in range(6):
                read = client.post("/api/v1/runs", json={"sql": "SELECT x FROM t", "wait": 30})
                assert read.status_code == 200, read.text
                assert read.json()["result"]["rows"] == [{"x": 1}]
    finally:
        output = stop(server)
    assert "2 API processes" in output


def test_several_processes_are_refused_on_sqlite(tmp_path: Path) -> None:
    server = serve(tmp_path, free_port(), {}, "--workers", "2")
    out, _ = server.communicate(timeout=60)
    assert server.returncode != 0
    assert "PostgreSQL metadata" in out


def test_several_processes_are_refused_while_an_organization_is_on_duckdb(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    metadata_url, _ = databases
    server = serve(tmp_path, free_port(), {"OPENLYTICS_DATABASE_URL": metadata_url}, "--workers", "2")
    out, _ = server.communicate(timeout=60)
    assert server.returncode != 0
    assert "embedded DuckDB file" in out
