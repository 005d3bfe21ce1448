"""A small distributed deployment for tests: a live API server with the celery executor, PostgreSQL
metadata, a broker, and `openlytics worker` subprocesses sharing its data directory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import kombu
import redis
import sqlalchemy as sa
from pydantic import SecretStr

from openlytics.runtime.celery_app import celery_app
from openlytics.settings import Settings
from openlytics.testing import LiveServer
from tests.conftest import POSTGRES_URL, FreshPostgresDatabase

REDIS_URL = os.environ.get("OPENLYTICS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
RABBITMQ_URL = os.environ.get("OPENLYTICS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
SECRET_KEY = "celery-test-secret-key-" + "x" * 20
HEARTBEAT_SECONDS = 0.5
LOST_SECONDS = 3.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


@contextlib.contextmanager
def redis_database() -> Iterator[str]:
    """A Redis database number no other test run holds (claimed in db 0), as a broker URL.

    Broadcasts (the cancel command) go over Redis pub/sub, scoped by database number: two runs on
    one database could cancel each other's jobs of the same id."""
    claims = redis.Redis.from_url(f"{REDIS_URL}/0")
    token = uuid.uuid4().hex
    try:
        for number in range(1, 16):
            key = f"openlytics-test:redis-db:{number}"
            if claims.set(key, token, nx=True, ex=900):
                try:
                    yield f"{REDIS_URL}/{number}"
                finally:
                    if claims.get(key) == token.encode():
                        claims.delete(key)
                return
        raise RuntimeError("every Redis database 1-15 is claimed by another test run")
    finally:
        claims.close()


@dataclass
class WorkerProcess:
    """One `openlytics worker` subprocess."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def name(self) -> str:
        """Its job runner's name, as recorded on the jobs it runs (`Job.worker`)."""
        return f"{socket.gethostname()}:{self.process.pid}"

    @property
    def node(self) -> str:
        """Its Celery node name."""
        return f"openlytics-{self.process.pid}@{socket.gethostname()}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as when a machine dies."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


@dataclass
class Cluster:
    """An API server, its metadata database, a broker and workers on one queue."""

    root: Path
    broker_url: str
    pg: FreshPostgresDatabase
    settings: Settings
    server: LiveServer
    queue: str = field(default_factory=lambda: f"queries-{uuid.uuid4().hex[:8]}")
    workers: list[WorkerProcess] = field(default_factory=list)
    source_id: int = 0
    # The data source: a database of its own, so pg_stat_activity tells its statements apart.
    source_db: FreshPostgresDatabase = field(default_factory=lambda: FreshPostgresDatabase.create("ol_src"))

    @classmethod
    def start(cls, root: Path, broker_url: str, *, workers: int) -> Cluster:
        """Start the API server and `workers` workers, and add the PostgreSQL data source."""
        pg = FreshPostgresDatabase.create("ol_celery")
        settings = Settings(
            data_dir=root / "data",
            database_url=pg.url,
            secret_key=SecretStr(SECRET_KEY),
            admin_api_key=SecretStr("olk_test_" + uuid.uuid4().hex),
            executor="celery",
            broker_url=broker_url,
            worker_heartbeat_seconds=HEARTBEAT_SECONDS,
            worker_lost_seconds=LOST_SECONDS,
            scheduler_enabled=False,
        )
        server = LiveServer(settings)
        cluster = cls(root=root, broker_url=broker_url, pg=pg, settings=server.settings, server=server)
        try:
            server.start()
            cluster.source_id = cluster.add_source("postgres", cluster.queue)
            for _ in range(workers):
                cluster.add_worker()
        except BaseException:
            cluster.close()
            raise
        return cluster

    def add_source(self, name: str, queue: str) -> int:
        """A data source on the source database whose jobs go to `queue`."""
        with self.client() as c:
            created = c.post(
                "/api/v1/data-sources",
                json={"name": name, "url": self.source_db.url, "options": {"queue": queue}},
            )
            assert created.status_code == 201, created.text
            assert created.json()["options"]["queue"] == queue
            source_id = int(created.json()["id"])
        return source_id

    def active_statements(self) -> int:
        """Statements of the data source that PostgreSQL is running now."""
        with _postgres() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND state = 'active'"
                    ),
                    {"name": self.source_db.name},
                ).scalar_one()
            )

    def terminate_statements(self) -> None:
        """End the data source's backends (PostgreSQL notices a killed client only much later)."""
        with _postgres() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": self.source_db.name},
            )

    def add_worker(self, queue: str | None = None, concurrency: int = 1) -> WorkerProcess:
        """Start a worker on `queue` (default: the cluster's) and wait until it answers a ping."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OPENLYTICS_")},
            "OPENLYTICS_EXECUTOR": "celery",
            "OPENLYTICS_BROKER_URL": self.broker_url,
            "OPENLYTICS_DATABASE_URL": self.pg.url,
            "OPENLYTICS_SECRET_KEY": SECRET_KEY,
            "OPENLYTICS_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "OPENLYTICS_WORKER_LOST_SECONDS": str(LOST_SECONDS),
        }
        log_path = self.root / f"worker-{len(self.workers)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "openlytics.cli.main",
                    "worker",
                    "--queues",
                    queue or self.queue,
                    "--concurrency",
                    str(concurrency),
                    "--data-dir",
                    str(self.settings.data_dir),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log_path)
        self.workers.append(worker)
        app = celery_app(self.settings)
        try:

            def answers() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"worker exited with {process.returncode}:\n{worker.log()}")
                return bool(app.control.ping(destination=[worker.node], timeout=0.5))

            wait_for(f"worker {worker.node} to answer", answers, timeout=60)
        finally:
            app.close()
        return worker

    def ensure_workers(self, count: int) -> None:
        """At least `count` live workers (a test may have killed one)."""
        self.workers = [w for w in self.workers if w.process.poll() is None]
        while len(self.workers) < count:
            self.add_worker()

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {self.server.admin_key}"},
            timeout=60,
        )

    @contextlib.contextmanager
    def metadata(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.pg.url)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            engine.dispose()

    def job_row(self, job_id: int) -> sa.Row[Any]:
        """The job as stored (the API does not show `worker`)."""
        with self.metadata() as conn:
            return conn.execute(
                sa.text(
                    "SELECT status, worker, error_code, started_at, finished_at FROM jobs WHERE id = :id"
                ),
                {"id": job_id},
            ).one()

    def restart_api(self) -> None:
        """Stop the API server and start another on the same settings (and database)."""
        self.server.stop()
        self.server = LiveServer(self.settings.model_copy(update={"internal_url": ""})).start()

    def close(self) -> None:
        """Stop the workers (killing any that hang) and the server; drop the database."""
        for worker in self.workers:  # all at once, then wait for each
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            with contextlib.suppress(Exception):
                worker.stop(timeout=15)
        with contextlib.suppress(Exception):
            self.server.stop()
        with contextlib.suppress(Exception), kombu.Connection(self.broker_url) as broker:
            broker.default_channel.queue_delete(self.queue)  # durable on RabbitMQ
        self.source_db.drop()  # ends its backends too
        self.pg.drop()


@contextlib.contextmanager
def _postgres() -> Iterator[sa.Connection]:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
