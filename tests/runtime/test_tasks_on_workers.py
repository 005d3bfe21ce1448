"""Background tasks (file loads, e-mails) on Celery workers (docs/scale-out.md): the API records a
task with its JSON arguments and sends its id to the kind's queue (`loads`, `emails`); an
`openlytics worker` claims it and runs the handler the dialect (or the native API) registered. A
live API server, worker subprocesses sharing its data directory, PostgreSQL metadata and warehouse,
a private Redis database, the real `serenytics` client and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import kombu
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from openlytics.settings import SmtpSettings
from openlytics.testing import LiveServer
from tests.conftest import FreshPostgresDatabase, FreshPostgresWarehouse
from tests.runtime.celery_cluster import (
    Cluster,
    WorkerProcess,
    cluster_settings,
    process_env,
    redis_database,
    start_worker,
    wait_for,
)

pytestmark = [pytest.mark.timeout(300), pytest.mark.postgres]

# `queries` too: reading a dataset back (formatted_data) is a query job on the warehouse.
TASK_QUEUES = "queries,loads,emails"
SENDER = "reports@openlytics.test"


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@dataclass
class TaskCluster:
    """The cluster (API server, metadata, broker), with its organization's warehouse in PostgreSQL
    (workers cannot open an embedded DuckDB file), an SMTP server, and workers on `queries,loads,emails`."""

    cluster: Cluster
    warehouse: FreshPostgresWarehouse
    inbox: Inbox
    smtp_port: int

    @property
    def server(self) -> LiveServer:
        return self.cluster.server

    def add_worker(self) -> WorkerProcess:
        """A worker on the task queues, with the warehouse and SMTP settings the servers share."""
        env = process_env(
            self.cluster.broker_url,
            self.cluster.pg.url,
            warehouse_url=self.warehouse.url,
            smtp__host="127.0.0.1",
            smtp__port=str(self.smtp_port),
            smtp__sender=SENDER,
        )
        worker = start_worker(
            env,
            self.cluster.settings.data_dir,
            self.cluster.root / f"worker-{len(self.cluster.workers)}.log",
            queues=TASK_QUEUES,
            concurrency=1,
            broker_url=self.cluster.broker_url,
        )
        self.cluster.workers.append(worker)
        return worker

    def live_worker(self) -> WorkerProcess:
        """A running worker on the task queues (started if a test stopped or killed them all)."""
        alive = [w for w in self.cluster.workers if w.process.poll() is None]
        return alive[0] if alive else self.add_worker()

    def stop_workers(self) -> None:
        for worker in self.cluster.workers:
            worker.stop()

    def task_row(self, task_id: str | int) -> sa.Row[Any]:
        """The task as stored (the APIs do not show `worker` nor `queue`)."""
        column = "uuid" if isinstance(task_id, str) else "id"
        with self.cluster.metadata() as conn:
            return conn.execute(
                sa.text(
                    "SELECT id, kind, status, worker, queue, error FROM background_tasks "
                    f"WHERE {column} = :ref"
                ),
                {"ref": uuid.UUID(task_id) if isinstance(task_id, str) else task_id},
            ).one()

    def latest_task(self, kind: str) -> sa.Row[Any] | None:
        with self.cluster.metadata() as conn:
            return conn.execute(
                sa.text(
                    "SELECT id, kind, status, worker, queue, error FROM background_tasks "
                    "WHERE kind = :kind ORDER BY id DESC LIMIT 1"
                ),
                {"kind": kind},
            ).first()

    def copy_running_in_warehouse(self) -> bool:
        """Whether a dataset load is streaming rows into the warehouse now (ADBC ingest: COPY)."""
        engine = sa.create_engine(self.warehouse.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return bool(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
                            "AND state = 'active' AND query ILIKE 'copy%'"
                        ),
                        {"name": self.warehouse.name},
                    ).scalar_one()
                )
        finally:
            engine.dispose()

    def native(self) -> httpx.Client:
        return self.cluster.client()


@pytest.fixture(scope="module")
def tasks_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskCluster]:
    root = tmp_path_factory.mktemp("tasks-cluster")
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd connects to its own port to check it is up: no port 0
        probe.bind(("127.0.0.1", 0))
        smtp_port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    warehouse = FreshPostgresWarehouse.create()
    try:
        with redis_database() as broker_url:
            pg = FreshPostgresDatabase.create("ol_tasks")
            settings = cluster_settings(
                root / "data",
                broker_url,
                pg.url,
                warehouse_url=warehouse.url,
                smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, sender=SENDER),
            )
            server = LiveServer(settings)
            cluster = Cluster(
                root=root, broker_url=broker_url, pg=pg, settings=server.settings, server=server
            )
            try:
                server.start()
                yield TaskCluster(cluster, warehouse, inbox, smtp_port)
            finally:
                cluster.close()
    finally:
        controller.stop()
        warehouse.drop()


@pytest.fixture
def sty(tasks_cluster: TaskCluster, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real `serenytics` client on the cluster's server, as its organization's admin."""
    import serenytics
    from serenytics import settings

    monkeypatch.setattr(settings, "SERENYTICS_API_DOMAIN", f"{tasks_cluster.server.url}/serenytics")
    return serenytics.Client(api_key=tasks_cluster.server.admin_key)


def _csv(path: Path, rows: int, *, offset: int = 0) -> Path:
    with path.open("w") as out:
        out.write("n,label\n")
        out.writelines(f"{offset + i},row-{offset + i}\n" for i in range(rows))
    return path


def _finished(tc: TaskCluster, task_id: str | int) -> sa.Row[Any] | None:
    row = tc.task_row(task_id)
    return row if row.status in ("success", "failure") else None


def test_reload_from_file_runs_on_a_worker(tasks_cluster: TaskCluster, sty: Any, tmp_path: Path) -> None:
    tc = tasks_cluster
    worker = tc.live_worker()
    source = sty.get_or_create_storage_data_source_by_name(f"sales-{uuid.uuid4().hex[:8]}")
    source.reload_data_from_file(str(_csv(tmp_path / "sales.csv", 5)))

    assert sorted(source.get_data().rows) == [[i, f"row-{i}"] for i in range(5)]
    task = tc.latest_task("dataset_reload")
    assert task is not None
    assert (task.status, task.worker, task.queue) == ("success", worker.name, "loads")

    source.update_data_from_file(str(_csv(tmp_path / "more.csv", 3, offset=4)), "n")
    assert len(source.get_data().rows) == 7
    updated = tc.latest_task("dataset_update")
    assert updated is not None and (updated.status, updated.worker) == ("success", worker.name)


def test_async_native_load_runs_on_a_worker_and_its_body_is_deleted(
    tasks_cluster: TaskCluster, tmp_path: Path
) -> None:
    tc = tasks_cluster
    worker = tc.live_worker()
    with tc.native() as api:
        dataset = api.post("/api/v1/datasets", json={"name": f"async-{uuid.uuid4().hex[:8]}"}).json()
        queued = api.put(
            f"/api/v1/datasets/{dataset['id']}/data",
            params={"run_async": "true", "force_types": '{"n": "float"}'},
            content=_csv(tmp_path / "body.csv", 4).read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        assert queued.status_code == 202, queued.text
        task_id = queued.json()["task"]["uuid"]
        row = wait_for("the async load to finish", lambda: _finished(tc, task_id))
        assert (row.status, row.worker, row.queue) == ("success", worker.name, "loads"), row.error
        task = api.get(f"/api/v1/tasks/{task_id}").json()
        assert task["result"]["row_count"] == 4
        loaded = api.get(f"/api/v1/datasets/{dataset['id']}").json()
        assert loaded["row_count"] == 4
        assert {c["name"]: c["type"] for c in loaded["columns"]}["n"] == "float64"
    assert list((tc.cluster.settings.data_dir / "tasks").iterdir()) == []


def test_email_is_sent_by_a_worker_with_an_uploaded_attachment(
    tasks_cluster: TaskCluster, sty: Any, tmp_path: Path
) -> None:
    tc = tasks_cluster
    worker = tc.live_worker()
    subject = f"Report {uuid.uuid4().hex[:8]}"
    attached = tmp_path / "numbers.csv"
    attached.write_text("a,b\n1,2\n")
    sty.send_email(subject, ["boss@example.com"], "<p>Hello <b>team</b></p>", file_to_attach=str(attached))

    def delivered() -> Any:
        return next((m for rcpt, m in tc.inbox.messages if m["Subject"] == subject), None)

    mail = wait_for("the e-mail to reach the SMTP server", delivered)
    parts = {part.get_filename(): part for part in mail.walk() if part.get_filename()}
    assert parts["numbers.csv"].get_payload(decode=True) == b"a,b\n1,2\n"
    task = tc.latest_task("email")
    assert task is not None and (task.status, task.worker, task.queue) == ("success", worker.name, "emails")


def _queue_load(
    api: httpx.Client, tmp_path: Path, name: str, rows: int
) -> tuple[dict[str, Any], httpx.Response]:
    """A new dataset and the answer to an asynchronous load of a `rows`-row CSV into it."""
    dataset = api.post("/api/v1/datasets", json={"name": f"{name}-{uuid.uuid4().hex[:8]}"}).json()
    queued = api.put(
        f"/api/v1/datasets/{dataset['id']}/data",
        params={"run_async": "true"},
        content=_csv(tmp_path / f"{name}.csv", rows).read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    return dataset, queued


def test_a_load_waits_pending_without_a_loads_worker_and_a_later_worker_runs_it(
    tasks_cluster: TaskCluster, tmp_path: Path
) -> None:
    tc = tasks_cluster
    tc.stop_workers()
    with tc.native() as api:
        dataset, queued = _queue_load(api, tmp_path, "later", 6)
        assert queued.status_code == 202 and queued.json()["task"]["status"] == "pending"
        task_id = queued.json()["task"]["uuid"]
        # Waiting in the queue is not being lost: a reaper pass later it is still pending, unclaimed.
        tc.server.core.liveness.tick()
        assert api.get(f"/api/v1/tasks/{task_id}").json()["status"] == "pending"
        row = tc.task_row(task_id)
        assert (row.status, row.worker, row.queue) == ("pending", None, "loads")

        worker = tc.add_worker()
        row = wait_for("the queued load to run", lambda: _finished(tc, task_id))
        assert (row.status, row.worker) == ("success", worker.name), row.error
        assert api.get(f"/api/v1/datasets/{dataset['id']}").json()["row_count"] == 6


def test_kill_9_of_a_worker_mid_reload_fails_the_task_and_keeps_the_dataset(
    tasks_cluster: TaskCluster, sty: Any, tmp_path: Path
) -> None:
    from serenytics.helpers import SerenyticsException

    tc = tasks_cluster
    worker = tc.live_worker()
    source = sty.get_or_create_storage_data_source_by_name(f"kept-{uuid.uuid4().hex[:8]}")
    source.reload_data_from_file(str(_csv(tmp_path / "first.csv", 3)))
    with tc.native() as api:
        before = api.get(f"/api/v1/datasets/{source.uuid}").json()
        versions = api.get(f"/api/v1/datasets/{before['id']}/versions").json()["items"]
    big = _csv(tmp_path / "big.csv", 3_000_000, offset=100)
    outcome: list[BaseException | None] = []

    def reload_big() -> None:
        try:
            source.reload_data_from_file(str(big))
        except BaseException as exc:  # the client's verdict, checked below
            outcome.append(exc)
        else:
            outcome.append(None)

    client_thread = threading.Thread(target=reload_big, daemon=True)
    client_thread.start()
    wait_for("the big reload to stream rows into the warehouse", tc.copy_running_in_warehouse, 120, 0.02)
    running = tc.latest_task("dataset_reload")
    assert running is not None and (running.status, running.worker) == ("running", worker.name)
    worker.kill()

    failed = wait_for("the task to fail as worker_lost", lambda: _finished(tc, running.id), 60)
    assert failed.status == "failure" and "worker_lost" in (failed.error or "")
    client_thread.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], SerenyticsException)
    with tc.native() as api:
        after = api.get(f"/api/v1/datasets/{before['id']}").json()
        assert (after["row_count"], after["columns"], after["version"]) == (
            before["row_count"],
            before["columns"],
            before["version"],
        )
        assert api.get(f"/api/v1/datasets/{before['id']}/versions").json()["items"] == versions
    replacement = tc.add_worker()  # reading rows back is a query job: a worker runs it
    assert sorted(source.get_data().rows) == [[i, f"row-{i}"] for i in range(3)]

    source.reload_data_from_file(str(_csv(tmp_path / "second.csv", 2, offset=50)))
    assert sorted(source.get_data().rows) == [[50, "row-50"], [51, "row-51"]]
    again = tc.latest_task("dataset_reload")
    assert again is not None and (again.status, again.worker) == ("success", replacement.name)
    with contextlib.suppress(FileNotFoundError):
        big.unlink()


def test_a_restarting_api_sends_again_a_task_whose_message_was_lost(
    tasks_cluster: TaskCluster, tmp_path: Path
) -> None:
    tc = tasks_cluster
    tc.stop_workers()
    with tc.native() as api:
        _, queued = _queue_load(api, tmp_path, "lost", 2)
        task_id = queued.json()["task"]["uuid"]
    # The broker loses the message (a Redis without persistence restarted, say), and time passes.
    with kombu.Connection(tc.cluster.broker_url) as broker:
        assert broker.default_channel.queue_purge("loads") == 1
    with tc.cluster.metadata() as conn:
        conn.execute(
            sa.text(
                "UPDATE background_tasks SET created_at = created_at - interval '1 hour' WHERE uuid = :u"
            ),
            {"u": uuid.UUID(task_id)},
        )
    tc.cluster.restart_api()  # recovery sends unclaimed tasks that waited long again
    worker = tc.add_worker()
    row = wait_for("the task sent again to run", lambda: _finished(tc, task_id))
    assert (row.status, row.worker) == ("success", worker.name), row.error
