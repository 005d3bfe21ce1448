"""The event pipeline's micro-batches on `openlytics worker` processes (docs/scale-out.md), exactly once.

A live API server with the celery executor (PostgreSQL metadata, a PostgreSQL warehouse, Redis)
only appends webhook events to the spool; workers started with `--queues pipeline` claim, transform
and load them. Faults are real: a worker is killed with SIGKILL while its transform sleeps inside a
batch, or while its load of the batch's second table waits for a lock the test holds (the first
table's rows already committed) — a surviving worker takes the batch over and every event is in its
table exactly once, in order.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from openlytics.core.pipeline.spool import IncomingSpool, SpooledBatch
from openlytics.engines.postgres_warehouse import warehouse_name
from openlytics.runtime.pipeline_leases import PostgresLeases, claimers_gone_by_heartbeat
from openlytics.runtime.pipeline_worker import PipelineWorker
from openlytics.runtime.worker_liveness import Heartbeat
from openlytics.store.db import Database
from openlytics.store.models import Dataset, Organization, WorkerHeartbeat
from openlytics.store.types import utcnow
from openlytics.testing import LiveServer
from tests.conftest import FreshPostgresDatabase, FreshPostgresWarehouse
from tests.runtime.celery_cluster import (
    LOST_SECONDS,
    WorkerProcess,
    cluster_settings,
    process_env,
    redis_database,
    start_worker,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)

P = "/api/v1/pipeline"
# Events with `slow` take a second in the transform: a batch of them is long enough to kill inside.
SLOW = (
    "import time\n\n"
    "def transform(event):\n"
    "    if event.get('slow'):\n"
    "        time.sleep(1)\n"
    "    event.setdefault('_metadata', {})['event_type'] = event.get('kind', 'things')\n"
    "    return event\n"
)


@dataclass
class PipelineCluster:
    """An API server (celery executor: it runs no batch) and pipeline workers sharing its data
    directory, metadata database, warehouse database and broker."""

    root: Path
    broker_url: str
    metadata: FreshPostgresDatabase
    warehouse: FreshPostgresWarehouse
    server: LiveServer
    workers: list[WorkerProcess] = field(default_factory=list)

    def add_worker(self) -> WorkerProcess:
        """Start `openlytics worker --queues pipeline` and wait until it answers a ping."""
        worker = start_worker(
            process_env(self.broker_url, self.metadata.url, warehouse_url=self.warehouse.url),
            self.server.settings.data_dir,
            self.root / f"worker-{len(self.workers)}.log",
            queues="pipeline",
            concurrency=1,
            broker_url=self.broker_url,
        )
        self.workers.append(worker)
        return worker

    def new_org(self) -> Org:
        """A new organization (its warehouse on PostgreSQL) with a REST input and the SLOW transform."""
        slug = f"org-{uuid.uuid4().hex[:10]}"
        headers = {"Authorization": f"Bearer {self.server.admin_key}"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=60) as superadmin:
            created = superadmin.post(
                "/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"}
            )
        assert created.status_code == 201, created.text
        body = created.json()
        client = httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {body['api_key']}"}, timeout=60
        )
        record = client.post(f"{P}/inputs", json={"name": "things", "type": "rest"})
        assert record.status_code == 201, record.text
        assert client.put(f"{P}/code/modules", json={"main": SLOW}).status_code == 200
        return Org(int(body["organization"]["id"]), client, record.json()["configuration"]["token"], self)

    def claimed_by(self, org_id: int) -> list[int]:
        """Pids of the processes with claimed batches of the organization in the spool."""
        claimed = self.server.settings.data_dir.resolve() / "pipeline" / str(org_id) / "claimed"
        with contextlib.suppress(FileNotFoundError):
            return [int(name.split("~")[1]) for name in os.listdir(claimed) if "~" in name]
        return []

    def lock_waits(self) -> int:
        """Statements on the warehouse database waiting for a lock."""
        with self.warehouse_admin() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            )

    @contextlib.contextmanager
    def warehouse_admin(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.warehouse.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def close(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(Exception):
                worker.stop(timeout=20)
        with contextlib.suppress(Exception):
            self.server.stop()
        self.warehouse.drop()
        self.metadata.drop()


@dataclass
class Org:
    id: int
    client: httpx.Client
    token: str
    cluster: PipelineCluster

    def post(self, events: list[dict[str, Any]]) -> None:
        answer = httpx.post(
            f"{self.cluster.server.url}/alooma/inputs/rest/{self.token}", json=events, timeout=60
        )
        assert answer.status_code == 200, answer.text

    def table(self, event_type: str) -> tuple[str, str] | None:
        """(schema, table) holding the current rows of the event type's table, once it exists."""
        found = self.client.get(f"{P}/event-types/{event_type}")
        if found.status_code != 200 or not found.json().get("table_name"):
            return None
        name = found.json()["table_name"]
        with self.cluster.server.core.db.session() as s:
            org = s.get(Organization, self.id)
            assert org is not None
            physical = s.scalar(
                sa.select(Dataset.table_name).where(Dataset.org_id == self.id, Dataset.name == name)
            )
            schema = warehouse_name(org.uuid)
        return (schema, physical) if physical else None

    def loaded(self, event_type: str = "things") -> list[int]:
        """The `seq` of every row of the event type's table, in insertion order."""
        where = self.table(event_type)
        if where is None:
            return []
        schema, table = where
        with self.cluster.warehouse_admin() as conn:
            return list(
                conn.scalars(sa.text(f'SELECT seq FROM "{schema}"."{table}" ORDER BY "__openlytics_row"'))
            )

    def pending(self) -> int:
        return self.cluster.server.core.pipeline_spool.pending(self.id)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PipelineCluster]:
    with redis_database() as broker_url:
        metadata = FreshPostgresDatabase.create("ol_pipe")
        warehouse = FreshPostgresWarehouse.create()
        settings = cluster_settings(tmp_path / "data", broker_url, metadata.url, warehouse_url=warehouse.url)
        server = LiveServer(settings)
        cluster = PipelineCluster(tmp_path, broker_url, metadata, warehouse, server)
        try:
            server.start()
            yield cluster
        finally:
            cluster.close()


def loaded_at_least(org: Org, count: int) -> bool:
    return len(org.loaded()) >= count


def events(start: int, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"seq": seq, **extra} for seq in range(start, start + count)]


def test_the_api_process_only_spools_events_and_a_pipeline_worker_loads_them(
    cluster: PipelineCluster,
) -> None:
    org = cluster.new_org()
    org.post(events(0, 5))
    assert not cluster.server.core.pipeline_worker.running  # the API process runs no batch
    assert org.pending() == 5 and org.loaded() == []

    cluster.add_worker()
    wait_for("the worker to load the events", lambda: org.loaded() == list(range(5)), timeout=60)
    wait_for("the batch acked", lambda: cluster.claimed_by(org.id) == [], timeout=30)
    assert org.pending() == 0


def test_two_workers_load_every_event_of_several_organizations_once_and_in_order(
    cluster: PipelineCluster,
) -> None:
    cluster.add_worker()
    cluster.add_worker()
    orgs = [cluster.new_org() for _ in range(3)]
    per_post, posts = 20, 15
    for round_ in range(posts):  # many small files: both workers claim, organizations interleave
        for org in orgs:
            org.post(events(round_ * per_post, per_post))
    total = per_post * posts
    for org in orgs:
        wait_for(f"organization {org.id} loaded", functools.partial(loaded_at_least, org, total), timeout=120)
    for org in orgs:
        assert org.loaded() == list(range(total))  # once each, in the order they were posted


def test_a_worker_killed_inside_a_batch_has_it_taken_over_and_loaded_once(
    cluster: PipelineCluster,
) -> None:
    org = cluster.new_org()
    org.post(events(0, 3))
    cluster.add_worker()
    wait_for("the first events loaded", lambda: org.loaded() == [0, 1, 2], timeout=60)
    cluster.add_worker()

    org.post(events(3, 6, slow=True))  # six seconds of transform in one batch
    claimer = wait_for("a worker to claim the slow batch", lambda: cluster.claimed_by(org.id), timeout=30)[0]
    victim = next(w for w in cluster.workers if w.process.pid == claimer)
    survivor = next(w for w in cluster.workers if w is not victim)
    victim.kill()
    assert org.loaded() == [0, 1, 2]  # the killed batch loaded nothing

    wait_for(
        "the survivor to take the batch over",
        lambda: survivor.process.pid in cluster.claimed_by(org.id) or len(org.loaded()) == 9,
        timeout=LOST_SECONDS * 10,
    )
    wait_for("the batch loaded", lambda: len(org.loaded()) >= 9, timeout=60)
    assert org.loaded() == list(range(9))
    wait_for("the batch acked", lambda: cluster.claimed_by(org.id) == [], timeout=30)
    assert org.pending() == 0


def test_a_worker_killed_after_one_tables_load_has_the_rest_loaded_and_nothing_twice(
    cluster: PipelineCluster,
) -> None:
    org = cluster.new_org()
    cluster.add_worker()
    org.post([{"seq": 0, "kind": "clicks"}, {"seq": 0, "kind": "views"}])  # both tables exist
    wait_for("both tables", lambda: org.loaded("clicks") == [0] and org.loaded("views") == [0], timeout=60)
    cluster.add_worker()
    where = org.table("views")
    assert where is not None
    schema, views = where

    with cluster.warehouse_admin() as holder:
        # The batch's load into `views` waits for this lock; its load into `clicks` (first in the
        # batch) commits meanwhile. The worker is killed right there: rows loaded, batch not acked.
        holder.execute(sa.text(f'LOCK TABLE "{schema}"."{views}" IN ACCESS EXCLUSIVE MODE'))
        org.post(
            [{"seq": n, "kind": "clicks"} for n in range(1, 6)]
            + [{"seq": n, "kind": "views"} for n in range(1, 6)]
        )
        wait_for("the clicks loaded", lambda: org.loaded("clicks") == list(range(6)), timeout=60)
        wait_for("the views load to wait for the lock", lambda: cluster.lock_waits() > 0, timeout=30)
        claimer = cluster.claimed_by(org.id)[0]
        next(w for w in cluster.workers if w.process.pid == claimer).kill()
        holder.rollback()

    wait_for(
        "the views loaded by the survivor", lambda: len(org.loaded("views")) >= 6, timeout=LOST_SECONDS * 20
    )
    assert org.loaded("views") == list(range(6))
    assert org.loaded("clicks") == list(range(6)), "the rows loaded before the kill are not loaded again"
    assert org.pending() == 0
    wait_for("the batch acked", lambda: cluster.claimed_by(org.id) == [], timeout=30)


# ----- the pieces, on a real PostgreSQL store ---------------------------------------------------
def test_an_organizations_lease_is_held_by_one_process_and_freed_when_its_session_ends(
    postgres_url: str,
) -> None:
    first_engine, second_engine = sa.create_engine(postgres_url), sa.create_engine(postgres_url)
    first, second = PostgresLeases(first_engine), PostgresLeases(second_engine)
    try:
        assert first.try_acquire(1) and first.try_acquire(1), "held: asking again keeps it"
        assert not second.try_acquire(1) and second.try_acquire(2), "one holder per organization"
        first.release(1)
        assert second.try_acquire(1)
        assert not first.try_acquire(1) and not first.try_acquire(2)
        # The holder's session ends (as when its process is killed): PostgreSQL frees its leases.
        with first_engine.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                )
            )
        wait_for("the leases freed", lambda: first.try_acquire(1) and first.try_acquire(2), timeout=10)
        assert not second.try_acquire(1), "the killed session's process no longer holds them"
    finally:
        first.close()
        second.close()
        first_engine.dispose()
        second_engine.dispose()


def test_a_claimer_is_gone_when_its_heartbeat_stops_or_never_came(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        gone = claimers_gone_by_heartbeat(db, lost_after=30)
        Heartbeat(db, "beating:1").beat()
        with db.session() as s:
            s.add(WorkerHeartbeat(name="silent:2", last_beat_at=utcnow() - timedelta(minutes=5)))
        assert not gone("beating", 1, 3600), "a fresh heartbeat: alive, however old the claim"
        assert gone("silent", 2, 1), "a heartbeat older than lost_after: gone"
        assert not gone("unknown", 3, 5), "no heartbeat yet and a young claim: not gone yet"
        assert gone("unknown", 3, 60), "no heartbeat and a claim older than lost_after: gone"
    finally:
        db.dispose()


def test_a_pipeline_worker_skips_organizations_another_process_leases(
    postgres_url: str, tmp_path: Path
) -> None:
    spool = IncomingSpool(tmp_path, fsync=False)
    seen: list[int] = []

    class Processor:
        def process_batch(self, batch: SpooledBatch) -> None:
            seen.extend(e["org"] for e in batch.events)
            spool.ack(batch)

    other_engine, engine = sa.create_engine(postgres_url), sa.create_engine(postgres_url)
    other = PostgresLeases(other_engine)
    assert other.try_acquire(1)  # another process has batches of organization 1 in flight
    worker = PipelineWorker(spool, Processor(), poll_seconds=0.02, leases=PostgresLeases(engine))  # type: ignore[arg-type]
    worker.start()
    try:
        spool.append(1, [{"org": 1}])
        spool.append(2, [{"org": 2}])
        worker.drain(2, timeout=30)
        assert seen == [2] and spool.pending(1) == 1, "organization 1 waits for its lease"
        other.release(1)
        worker.drain(1, timeout=30)
        assert seen == [2, 1]
    finally:
        worker.stop()
        other.close()
        other_engine.dispose()
        engine.dispose()
