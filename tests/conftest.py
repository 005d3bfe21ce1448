"""Shared fixtures: a live server per metadata backend (SQLite and PostgreSQL), and API callers.

Every test that uses `server` runs twice: once with SQLite metadata, once with PostgreSQL.

`OPENLYTICS_TEST_WAREHOUSE` chooses the warehouse of the servers and applications `make_settings`
configures: `duckdb` (default, the embedded file) or `postgresql` (a fresh database on the local
PostgreSQL server per server, see docs/scale-out.md). Tests marked `duckdb_warehouse` are skipped on
the PostgreSQL warehouse.

`OPENLYTICS_TEST_MODE` chooses what `server` is: `embedded` (default: a `LiveServer` in this process
per metadata backend) or `distributed` (`tests/distributed_server.py`: `openlytics serve --workers 2`
and two `openlytics worker` subprocesses on PostgreSQL metadata and warehouse and a Redis broker;
docs/scale-out.md). Tests marked `embedded_only` are skipped in the distributed mode.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from openlytics.settings import Settings
from openlytics.store.models import ActivityEvent
from openlytics.testing import LiveServer

POSTGRES_URL = os.environ.get(
    "OPENLYTICS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("OPENLYTICS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
MODE = os.environ.get("OPENLYTICS_TEST_MODE", "embedded")
if MODE not in ("embedded", "distributed"):
    raise pytest.UsageError(f"OPENLYTICS_TEST_MODE={MODE!r}: expected embedded or distributed")
DISTRIBUTED = MODE == "distributed"
METADATA_BACKENDS = (
    ["postgresql"]
    if DISTRIBUTED
    else os.environ.get("OPENLYTICS_TEST_METADATA", "sqlite,postgresql").split(",")
)
WAREHOUSE = os.environ.get("OPENLYTICS_TEST_WAREHOUSE", "postgresql" if DISTRIBUTED else "duckdb")
if WAREHOUSE not in ("duckdb", "postgresql"):
    raise pytest.UsageError(f"OPENLYTICS_TEST_WAREHOUSE={WAREHOUSE!r}: expected duckdb or postgresql")
if DISTRIBUTED and WAREHOUSE != "postgresql":
    raise pytest.UsageError("OPENLYTICS_TEST_MODE=distributed needs the PostgreSQL warehouse")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skips = []
    if WAREHOUSE == "postgresql":
        skips.append(("duckdb_warehouse", "DuckDB SQL: the warehouse under test is PostgreSQL"))
    if DISTRIBUTED:
        skips.append(("embedded_only", "needs the in-process server: the mode under test is distributed"))
    for item in items:
        for marker, reason in skips:
            if found := item.get_closest_marker(marker):
                item.add_marker(
                    pytest.mark.skip(reason=f"{reason} ({found.args[0]})" if found.args else reason)
                )


@dataclass
class FreshPostgresDatabase:
    """A throw-away database on the local PostgreSQL server."""

    name: str
    url: str

    @classmethod
    def create(cls, prefix: str = "ol_test") -> FreshPostgresDatabase:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return cls(name, POSTGRES_URL.rsplit("/", 1)[0] + "/" + name)

    def drop(self) -> None:
        engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()


IDLE_SESSION_MS = 10_000  # above the 5 s after which the ADBC pool pings an idle connection


class FreshPostgresWarehouse(FreshPostgresDatabase):
    """A throw-away database used as PostgreSQL warehouse: dropping it also drops the organization
    roles provisioned in it (roles belong to the whole server, not to one database)."""

    @classmethod
    def create(cls, prefix: str = "wh") -> FreshPostgresWarehouse:
        fresh = FreshPostgresDatabase.create(prefix)
        # A test server keeps pooled connections of every organization it ever served (one pool per
        # organization and process: docs/scale-out.md); hundreds of test organizations would exhaust
        # the local server's connection slots. PostgreSQL ends idle sessions, as a pooler would, and the
        # pools reconnect (pre-ping; ADBC pings connections idle for more than 5 seconds).
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(
                sa.text(f'ALTER DATABASE "{fresh.name}" SET idle_session_timeout = {IDLE_SESSION_MS}')
            )
        admin.dispose()
        return cls(fresh.name, fresh.url)

    def drop(self) -> None:
        roles = self._organization_roles()
        super().drop()
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            for role in roles:
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()

    def _organization_roles(self) -> list[str]:
        """The `ol_` roles of this database: each owns the schema of its name (missing database: none)."""
        admin = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": self.name}
            ).first()
        admin.dispose()
        if not exists:
            return []
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            names = conn.scalars(
                sa.text(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ol\_%'")
            ).all()
        engine.dispose()
        return list(names)


@contextmanager
def postgres_warehouse() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database to use as warehouse; dropped afterwards with the
    organization roles provisioned in it."""
    fresh = FreshPostgresWarehouse.create()
    try:
        yield fresh.url
    finally:
        fresh.drop()


@dataclass
class TestDatabases:
    """What `make_settings` created on the local PostgreSQL server; `drop()` removes all of it once."""

    __test__ = False

    metadata: FreshPostgresDatabase | None = None
    warehouse: FreshPostgresWarehouse | None = None
    dropped: bool = field(default=False, init=False)

    def drop(self) -> None:
        """Drop the metadata and warehouse databases (and the warehouse's roles); idempotent."""
        if self.dropped:
            return
        self.dropped = True
        for database in (self.warehouse, self.metadata):
            if database is not None:
                database.drop()


# Every TestDatabases of this process: whatever a test left behind is dropped when the session ends.
_created: list[TestDatabases] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    while _created:
        _created.pop().drop()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL metadata database for one test module, dropped at the end."""
    from openlytics.store.db import Database

    fresh = FreshPostgresDatabase.create("sched")
    try:
        db = Database(fresh.url)
        db.migrate()
        db.dispose()
        yield fresh.url
    finally:
        fresh.drop()


def make_settings(
    data_dir: Path, metadata: str, *, warehouse: str = WAREHOUSE, **overrides: object
) -> tuple[Settings, TestDatabases]:
    """Settings for a test server on `data_dir` with the given metadata backend and warehouse engine
    (default: `OPENLYTICS_TEST_WAREHOUSE`; an explicit `warehouse_url` override wins). The caller
    drops the returned databases once the server has stopped."""
    databases = TestDatabases()
    _created.append(databases)
    if metadata == "postgresql":
        databases.metadata = FreshPostgresDatabase.create()
    if warehouse == "postgresql" and "warehouse_url" not in overrides:
        databases.warehouse = FreshPostgresWarehouse.create()
        overrides["warehouse_url"] = databases.warehouse.url
    settings = Settings(
        data_dir=data_dir,
        database_url=databases.metadata.url if databases.metadata else "",
        scheduler_poll_seconds=0.2,
        file_source_dirs=[data_dir.parent],
        **overrides,  # type: ignore[arg-type]
    )
    return settings, databases


@pytest.fixture(scope="session", params=METADATA_BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server on a random port, one per metadata backend; in the distributed mode a
    `DistributedServer` (it has what tests use of a `LiveServer`: url, admin_key, settings, core)."""
    root = tmp_path_factory.mktemp(f"server-{request.param}")
    settings, databases = make_settings(root / "data", request.param)
    try:
        if DISTRIBUTED:
            yield from _distributed_server(root, settings)
            return
        live = LiveServer(settings).start()
        try:
            yield live
        finally:
            live.stop()
    finally:
        databases.drop()


def _distributed_server(root: Path, settings: Settings) -> Iterator[LiveServer]:
    # Imported here: the cluster module imports this one.
    from tests.distributed_server import DistributedServer
    from tests.runtime.celery_cluster import redis_database

    with redis_database(claim_seconds=4 * 3600) as broker_url:  # a whole session
        distributed = DistributedServer(root, settings, broker_url).start()
        try:
            yield distributed  # type: ignore[misc]  # duck-typed: the attributes tests use
        finally:
            distributed.stop()


def drain_pipeline(server: LiveServer, org_id: int, timeout: float = 60.0) -> None:
    """Wait until the pipeline processed every event of the organization it was sent: the embedded
    server's own worker drains; in the distributed mode the shared spool (in the data directory)
    has nothing waiting nor claimed, whichever process took the batches."""
    if not DISTRIBUTED:
        server.core.pipeline_worker.drain(org_id, timeout)
        return
    spool = server.core.pipeline_spool
    deadline = time.monotonic() + timeout
    while spool.pending(org_id) or spool.in_flight(org_id):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pipeline of organization {org_id} did not drain in {timeout} s")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as the bootstrap admin (a superadmin)."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60
    ) as c:
        yield c


@dataclass
class Org:
    """A fresh organization with one client per role."""

    id: int
    admin: httpx.Client
    editor: httpx.Client
    viewer: httpx.Client
    admin_user_id: int
    editor_user_id: int
    viewer_user_id: int
    keys: dict[str, str]

    def close(self) -> None:
        for c in (self.admin, self.editor, self.viewer):
            c.close()


def _client(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@pytest.fixture
def new_org(server: LiveServer, admin: httpx.Client) -> Iterator[Org]:
    """A new organization with an admin, an editor and a viewer (isolated from other tests)."""
    slug = f"org-{uuid.uuid4().hex[:10]}"
    created = admin.post("/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"})
    assert created.status_code == 201, created.text
    body = created.json()
    org_admin = _client(server, body["api_key"])
    keys = {"admin": body["api_key"]}
    ids = {"admin": body["admin"]["id"]}
    for role in ("editor", "viewer"):
        user = org_admin.post(
            "/api/v1/users", json={"email": f"{role}@{slug}.test", "name": role, "role": role}
        )
        assert user.status_code == 201, user.text
        key = org_admin.post("/api/v1/api-keys", json={"name": role, "user_id": user.json()["id"]})
        assert key.status_code == 201, key.text
        keys[role] = key.json()["key"]
        ids[role] = user.json()["id"]
    org = Org(
        id=body["organization"]["id"],
        admin=org_admin,
        editor=_client(server, keys["editor"]),
        viewer=_client(server, keys["viewer"]),
        admin_user_id=ids["admin"],
        editor_user_id=ids["editor"],
        viewer_user_id=ids["viewer"],
        keys=keys,
    )
    yield org
    org.close()


def stored_events(server: LiveServer, org_id: int | None, kind: str | None = None) -> int:
    """Activity events written to the store: of one organization (None: all), of one kind (None: all)."""
    server.core.activity.flush()
    query = sa.select(sa.func.count()).select_from(ActivityEvent)
    if org_id is not None:
        query = query.where(ActivityEvent.org_id == org_id)
    if kind is not None:
        query = query.where(ActivityEvent.kind == kind)
    with server.core.db.session() as s:
        return int(s.scalar(query) or 0)


def settle_stored(server: LiveServer, org_id: int | None) -> None:
    """Wait until the activity noted so far is all stored, so the next report counts each event: the
    embedded server flushes; in the distributed mode, until the stored count of the organization
    (None: of all) holds for longer than the processes' write interval (one second)."""
    if not DISTRIBUTED:
        server.core.activity.flush()
        return
    count = stored_events(server, org_id)
    while True:
        time.sleep(2.0)
        if (now := stored_events(server, org_id)) == count:
            return
        count = now
