"""A small distributed deployment for tests: a live API server with the celery executor, PostgreSQL
metadata, a broker, and `openlytics worker` subprocesses sharing its data directory; more API
processes (`openlytics serve` subprocesses, `ApiProcess`) and a private `redis-server`
(`PrivateRedis`, which a test may restart) when a test needs them. benchmarks/scale_out.py reuses
the process classes."""

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
ADMIN_PASSWORD = "a long cluster password"
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
def redis_database(claim_seconds: int = 900) -> Iterator[str]:
    """A Redis database number no other test run holds (claimed in db 0 for at most `claim_seconds`,
    released at the end), as a broker URL.

    Broadcasts (the cancel command) go over Redis pub/sub, scoped by database number: two runs on
    one database could cancel each other's jobs of the same id."""
    claims = redis.Redis.from_url(f"{REDIS_URL}/0")
    token = uuid.uuid4().hex
    try:
        for number in range(1, 16):
            key = f"openlytics-test:redis-db:{number}"
            if claims.set(key, token, nx=True, ex=claim_seconds):
                try:
                    yield f"{REDIS_URL}/{number}"
                finally:
                    if claims.get(key) == token.encode():
                        claims.delete(key)
                return
        raise RuntimeError("every Redis database 1-15 is claimed by another test run")
    finally:
        claims.close()


def free_port() -> int:
    """A port nothing listens on now (a process started next binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_env(broker_url: str, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of an `openlytics` subprocess of a cluster: ours without OPENLYTICS_*, plus
    the settings every process must share and `settings` (names without the prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLYTICS_")}
    env.update(
        {
            "OPENLYTICS_EXECUTOR": "celery",
            "OPENLYTICS_BROKER_URL": broker_url,
            "OPENLYTICS_DATABASE_URL": database_url,
            "OPENLYTICS_SECRET_KEY": SECRET_KEY,
            "OPENLYTICS_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "OPENLYTICS_WORKER_LOST_SECONDS": str(LOST_SECONDS),
        }
    )
    env.update({f"OPENLYTICS_{name.upper()}": value for name, value in settings.items()})
    return env


class PrivateRedis:
    """A `redis-server` of our own on a free port (never the machine's shared one), which a test may
    stop and start again on the same port. `persistent`: an append-only file in `root`, so queued
    messages survive a restart (as in a real deployment); else nothing is kept."""

    def __init__(self, root: Path, *, persistent: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)

    def start(self) -> PrivateRedis:
        """Start it and wait until it answers PING."""
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.root), "--appendonly", "yes" if self.persistent else "no"]
        with (self.root / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:

            def answers() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"redis-server exited with {self.process.returncode}")
                try:
                    return bool(client.ping())
                except redis.ConnectionError:
                    return False

            wait_for("redis-server to answer", answers, timeout=20, every=0.05)
        except BaseException:
            self.stop()
            raise
        finally:
            client.close()
        return self

    def stop(self) -> None:
        """SIGTERM (Redis writes its append-only file and exits), SIGKILL if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop, stay down `down_seconds`, start again on the same port."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class ChildProcess:
    """A subprocess of the cluster with its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

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
                self.kill()
        return self.process.returncode


@dataclass
class ApiProcess(ChildProcess):
    """One `openlytics serve` subprocess on a free port."""

    url: str

    @classmethod
    def start(
        cls,
        env: dict[str, str],
        data_dir: Path,
        log_path: Path,
        timeout: float = 60,
        *,
        port: int | None = None,
        processes: int = 1,
    ) -> ApiProcess:
        """Start it with `env` (see `process_env`) and wait until /healthz answers; `processes` > 1 is
        `serve --workers N` (uvicorn's process manager, N API processes on the port)."""
        port = port or free_port()
        several = ("--workers", str(processes)) if processes > 1 else ()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "openlytics.cli.main", "serve", "--host", "127.0.0.1"),
                    *("--port", str(port), "--data-dir", str(data_dir), *several),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        api = cls(process, log_path, f"http://127.0.0.1:{port}")

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"API process exited with {process.returncode}:\n{api.log()}")
            try:
                return httpx.get(f"{api.url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_for(f"API process at {api.url}", healthy, timeout=timeout)
        except BaseException:
            api.kill()
            raise
        return api


def start_worker(
    env: dict[str, str],
    data_dir: Path,
    log_path: Path,
    *,
    queues: str,
    concurrency: int,
    broker_url: str,
    timeout: float = 60,
) -> WorkerProcess:
    """Start `openlytics worker` with `env` and wait (at most `timeout` seconds) until it answers a ping."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "openlytics.cli.main", "worker", "--queues", queues),
                *("--concurrency", str(concurrency), "--data-dir", str(data_dir)),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path)
    app = celery_app(Settings(executor="celery", broker_url=broker_url))
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}:\n{worker.log()}")
            return bool(app.control.ping(destination=[worker.node], timeout=0.5))

        wait_for(f"worker {worker.node} to answer", answers, timeout=timeout)
    except BaseException:
        worker.kill()
        raise
    finally:
        app.close()
    return worker


@dataclass
class WorkerProcess(ChildProcess):
    """One `openlytics worker` subprocess."""

    @property
    def name(self) -> str:
        """Its job runner's name, as recorded on the jobs it runs (`Job.worker`)."""
        return f"{socket.gethostname()}:{self.process.pid}"

    @property
    def node(self) -> str:
        """Its Celery node name."""
        return f"openlytics-{self.process.pid}@{socket.gethostname()}"


def cluster_settings(data_dir: Path, broker_url: str, database_url: str, **overrides: Any) -> Settings:
    """The settings of a test cluster's API server: the celery executor on `broker_url`, PostgreSQL
    metadata, the cluster's secret key and liveness timings, no scheduler; `overrides` on top."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": SecretStr(SECRET_KEY),
        "admin_api_key": SecretStr("olk_test_" + uuid.uuid4().hex),
        "admin_password": SecretStr(ADMIN_PASSWORD),
        "executor": "celery",
        "broker_url": broker_url,
        "worker_heartbeat_seconds": HEARTBEAT_SECONDS,
        "worker_lost_seconds": LOST_SECONDS,
        "scheduler_enabled": False,
    }
    return Settings(**{**values, **overrides})


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
    api_processes: list[ApiProcess] = field(default_factory=list)
    source_id: int = 0
    # The data source: a database of its own, so pg_stat_activity tells its statements apart.
    source_db: FreshPostgresDatabase = field(default_factory=lambda: FreshPostgresDatabase.create("ol_src"))

    @classmethod
    def start(cls, root: Path, broker_url: str, *, workers: int) -> Cluster:
        """Start the API server and `workers` workers, and add the PostgreSQL data source."""
        pg = FreshPostgresDatabase.create("ol_celery")
        settings = cluster_settings(root / "data", broker_url, pg.url)
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
        worker = start_worker(
            process_env(self.broker_url, self.pg.url),
            self.settings.data_dir,
            self.root / f"worker-{len(self.workers)}.log",
            queues=queue or self.queue,
            concurrency=concurrency,
            broker_url=self.broker_url,
        )
        self.workers.append(worker)
        return worker

    def add_api_process(self) -> ApiProcess:
        """Another API process (`openlytics serve`) on the same metadata, data directory, secret
        key, admin key and broker as the in-process server; its scheduler is off."""
        assert self.settings.admin_api_key is not None
        env = process_env(
            self.broker_url,
            self.pg.url,
            scheduler_enabled="false",
            admin_api_key=self.settings.admin_api_key.get_secret_value(),
        )
        api = ApiProcess.start(env, self.settings.data_dir, self.root / f"api-{len(self.api_processes)}.log")
        self.api_processes.append(api)
        return api

    def ensure_workers(self, count: int) -> None:
        """At least `count` live workers (a test may have killed one)."""
        self.workers = [w for w in self.workers if w.process.poll() is None]
        while len(self.workers) < count:
            self.add_worker()

    def client(self, url: str | None = None) -> httpx.Client:
        """An admin client of the in-process server (or of the API process at `url`)."""
        return httpx.Client(
            base_url=url or self.server.url,
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
        """Stop the workers (killing any that hang), the API processes and the server; drop the
        database."""
        for api in self.api_processes:
            with contextlib.suppress(Exception):
                api.stop(timeout=10)
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


def module_cluster(root: Path, *, workers: int) -> Iterator[Cluster]:
    """A `Cluster` on a Redis database of its own, closed afterwards (a module fixture's body)."""
    with redis_database() as broker_url:
        cluster = Cluster.start(root, broker_url, workers=workers)
        try:
            yield cluster
        finally:
            cluster.close()
