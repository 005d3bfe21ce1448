"""The test server of the distributed mode (`OPENLYTICS_TEST_MODE=distributed`, docs/scale-out.md):
one `openlytics serve --workers 2` subprocess (two API processes on one port) with the celery
executor, two `openlytics worker` subprocesses consuming every queue, a Redis database of its own as
broker, and fresh PostgreSQL metadata and warehouse databases; all share one data directory.

It shows what tests use of the embedded `LiveServer`: `url`, `admin_key`, `settings` and `core`
(an application on the same stores built in the test process, never started: it reads the store)."""

from __future__ import annotations

import json
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from pydantic import BaseModel, SecretStr

from openlytics.app import Openlytics
from openlytics.settings import Settings
from tests.runtime.celery_cluster import (
    SECRET_KEY,
    ApiProcess,
    WorkerProcess,
    free_port,
    process_env,
    start_worker,
)

# Every queue work goes to (a queue nobody sends to is harmless).
QUEUES = "queries,scripts,loads,emails,renders,pipeline"
API_PROCESSES = 2
WORKERS = 2
WORKER_CONCURRENCY = 4  # threads per worker: tests run a slow query beside others
HEARTBEAT_SECONDS = 1.0
# Far above the heartbeat: two test sessions share this machine's two cores, and a worker that
# misses beats while busy must not have its jobs failed as lost.
LOST_SECONDS = 60.0
# A process starts in seconds; on a machine busy with other test sessions, in minutes.
STARTUP_SECONDS = 300.0


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as the environment of an `openlytics` subprocess (names without the prefix):
    secrets revealed, nested models and lists as JSON, unset (None) fields left out."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = _env_value(getattr(settings, name))
        if value is not None:
            env[name] = value
    return env


def _env_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BaseModel | list):
        return json.dumps(_plain(value))
    return str(value)


def _plain(value: Any) -> Any:
    """JSON-ready, with secrets revealed (pydantic's JSON dump masks them)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class DistributedServer:
    """API processes, workers and their stores, started by `start()` and ended by `stop()`."""

    def __init__(self, root: Path, settings: Settings, broker_url: str) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings.model_copy(
            update={
                "host": "127.0.0.1",
                "port": self.port,
                "executor": "celery",
                "broker_url": broker_url,
                "secret_key": SecretStr(SECRET_KEY),
                "admin_api_key": settings.admin_api_key or SecretStr("olk_test_" + secrets.token_urlsafe(24)),
                "internal_url": self.url,  # scripts on the workers call the API back here
                "worker_heartbeat_seconds": HEARTBEAT_SECONDS,
                "worker_lost_seconds": LOST_SECONDS,
                # Every API process runs a scheduler; with PostgreSQL metadata only the leader polls.
                "scheduler_enabled": True,
            }
        )
        assert self.settings.admin_api_key is not None
        self.admin_key = self.settings.admin_api_key.get_secret_value()
        self.api: ApiProcess | None = None
        self.workers: list[WorkerProcess] = []
        self._core: Openlytics | None = None

    def start(self) -> DistributedServer:
        """Start the API processes (they migrate and bootstrap), then the workers; wait for all."""
        env = process_env(
            self.settings.broker_url,
            self.settings.database_url,
            **{
                k: v
                for k, v in settings_env(self.settings).items()
                if k not in ("broker_url", "database_url")
            },
        )
        data_dir = self.settings.data_dir
        # Messages a killed earlier run left on this database would name jobs of other stores.
        with redis.Redis.from_url(self.settings.broker_url) as broker:
            broker.flushdb()
        try:
            self.api = ApiProcess.start(
                env,
                data_dir,
                self.root / "api.log",
                timeout=STARTUP_SECONDS,
                port=self.port,
                processes=API_PROCESSES,
            )

            def worker(number: int) -> WorkerProcess:
                return start_worker(
                    env,
                    data_dir,
                    self.root / f"worker-{number}.log",
                    queues=QUEUES,
                    concurrency=WORKER_CONCURRENCY,
                    broker_url=self.settings.broker_url,
                    timeout=STARTUP_SECONDS,
                )

            # Started together: a worker takes seconds to import and build its application.
            with ThreadPoolExecutor(WORKERS) as pool:
                started = [pool.submit(worker, number) for number in range(WORKERS)]
            # Keep those that started (stop() ends them), then raise the first failure.
            self.workers = [future.result() for future in started if future.exception() is None]
            for future in started:
                future.result()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def core(self) -> Openlytics:
        """An application on the same stores, built on first use and never started (no scheduler,
        executor or pipeline of its own): for tests that read the store."""
        if self._core is None:
            self._core = Openlytics(self.settings)
        return self._core

    def logs(self) -> str:
        """The API processes' and workers' output, for a failure message."""
        parts = [
            f"--- {p.log_path.name}\n{p.log()}" for p in [*([self.api] if self.api else []), *self.workers]
        ]
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop the workers (all at once, then wait), the API processes and the test's application."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.stop(timeout=30)
        if self.api is not None:
            self.api.stop(timeout=30)
        if self._core is not None:
            self._core.stop()
            self._core = None
