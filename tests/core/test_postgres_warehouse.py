"""The PostgreSQL warehouse: one schema and one role per organization (docs/scale-out.md).

Metadata and warehouse share one fresh database here, as they may in a deployment, so the tests
also show that an organization's SQL cannot reach the metadata tables.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.datasets.structured_model import Condition
from openlytics.core.errors import InvalidInputError, QueryFailedError
from openlytics.core.jobs.status import JobStatus
from openlytics.core.principal import Principal, Role
from openlytics.engines.base import Statement
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.engines.postgres_warehouse import (
    PostgresWarehouseEngine,
    deprovision,
    new_password,
    provision,
    role_url,
    warehouse_name,
)
from openlytics.settings import Settings
from openlytics.store.models import DataSource
from tests.conftest import POSTGRES_URL, postgres_warehouse
from tests.core.datasets_fixtures import WAREHOUSES

pytestmark = pytest.mark.skipif(
    "postgresql" not in WAREHOUSES,
    reason="the PostgreSQL warehouse is not under test",
)


@dataclass
class Orgs:
    app: Openlytics
    url: str
    a: Principal
    b: Principal
    a_name: str
    b_name: str


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, scheduler_poll_seconds=0.2, scheduler_enabled=False, **overrides)  # type: ignore[arg-type]


def superadmin(app: Openlytics) -> Principal:
    org_id = app.identity.organizations()[0].id
    return Principal(org_id=org_id, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True)


def new_org(app: Openlytics, warehouse: str | None = None) -> tuple[Principal, str]:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    created = app.identity.create_organization(
        superadmin(app), name=slug, admin_email=f"admin@{slug}.test", warehouse=warehouse
    )
    org = created.organization
    return Principal.system(org.id), warehouse_name(org.uuid)


def sql(app: Openlytics, principal: Principal, statement: str) -> pa.Table:
    """Run `statement` as the organization's user SQL does; the engine's error raises."""
    engine = app.sources.engine(app.sources.default(principal))
    with engine.execute(Statement.plain(statement)) as execution:
        return pa.Table.from_batches(list(execution.batches()), schema=execution.schema)


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orgs]:
    with postgres_warehouse() as url:
        data_dir = tmp_path_factory.mktemp("pgwarehouse") / "data"
        app = Openlytics(settings_for(data_dir, database_url=url, warehouse_url=url))
        app.start()
        try:
            a, a_name = new_org(app)
            b, b_name = new_org(app)
            for principal in (a, b):  # provisions both roles
                app.sources.engine(app.sources.default(principal)).test_connection()
            yield Orgs(app, url, a, b, a_name, b_name)
        finally:
            app.stop()


def role_facts(name: str) -> dict[str, object] | None:
    engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    "SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
                    "rolpassword, (SELECT setconfig FROM pg_db_role_setting WHERE setrole = a.oid) AS config "
                    "FROM pg_authid a WHERE rolname = :n"
                ),
                {"n": name},
            )
            .mappings()
            .first()
        )
    engine.dispose()
    return dict(row) if row is not None else None


def schema_owner(url: str, name: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        owner = conn.scalar(
            sa.text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :n"), {"n": name}
        )
    engine.dispose()
    return owner


# ----- provisioning -----------------------------------------------------------------------------------
def test_provisioning_is_idempotent_and_resets_the_password(orgs: Orgs) -> None:
    name = warehouse_name(uuid.uuid4())
    first, second = new_password(), new_password()
    try:
        provision(orgs.url, name, first)
        provision(orgs.url, name, first)
        facts = role_facts(name)
        assert facts is not None
        assert facts["rolcanlogin"] is True
        assert not any(
            facts[k] for k in ("rolsuper", "rolinherit", "rolcreaterole", "rolcreatedb", "rolreplication")
        )
        assert facts["config"] == [f"search_path={name}"]
        assert schema_owner(orgs.url, name) == name
        before = facts["rolpassword"]
        provision(orgs.url, name, second)
        after = role_facts(name)
        assert after is not None and after["rolpassword"] != before
    finally:
        deprovision(orgs.url, name)
        deprovision(orgs.url, name)
    assert role_facts(name) is None
    assert schema_owner(orgs.url, name) is None


def test_an_administrator_that_is_not_superuser_may_provision(orgs: Orgs) -> None:
    admin_role = f"ol_admin_{uuid.uuid4().hex[:8]}"
    database = orgs.url.rsplit("/", 1)[1]
    root = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with root.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{admin_role}" LOGIN CREATEROLE')
        conn.exec_driver_sql(f'GRANT CREATE ON DATABASE "{database}" TO "{admin_role}"')
    admin_url = orgs.url.replace("postgres@", f"{admin_role}@", 1)
    name, password = warehouse_name(uuid.uuid4()), new_password()
    try:
        provision(admin_url, name, password)
        provision(admin_url, name, password)
        assert schema_owner(orgs.url, name) == name
        engine = PostgresWarehouseEngine(role_url(admin_url, name, password), name)
        try:
            with engine.execute(Statement.plain("CREATE TABLE t AS SELECT 1 AS a")) as execution:
                list(execution.batches())
            assert [t.name for t in engine.list_tables()] == ["t"]
        finally:
            engine.close()
        deprovision(admin_url, name)
        assert role_facts(name) is None
    finally:
        deprovision(orgs.url, name)  # as the superuser, whatever happened above
        with root.connect() as conn:
            conn.exec_driver_sql(f'REVOKE CREATE ON DATABASE "{database}" FROM "{admin_role}"')
            conn.exec_driver_sql(f'DROP ROLE "{admin_role}"')
        root.dispose()


def test_provisioning_refuses_names_and_passwords_it_did_not_generate(orgs: Orgs) -> None:
    with pytest.raises(InvalidInputError):
        provision(orgs.url, 'ol_x"; DROP ROLE postgres; --', new_password())
    with pytest.raises(InvalidInputError):
        provision(orgs.url, warehouse_name(uuid.uuid4()), "secret' SUPERUSER '")


def test_the_role_and_schema_are_made_when_the_engine_first_opens(orgs: Orgs) -> None:
    principal, name = new_org(orgs.app)
    assert role_facts(name) is None  # the organization's row exists; nothing was provisioned yet
    engine = orgs.app.sources.engine(orgs.app.sources.default(principal))
    assert isinstance(engine, PostgresWarehouseEngine)
    assert role_facts(name) is not None
    assert sql(orgs.app, principal, "SELECT current_user AS u, current_schema() AS s").to_pylist() == [
        {"u": name, "s": name}
    ]


def test_the_native_view_of_the_warehouse_shows_its_engine_not_its_url(orgs: Orgs) -> None:
    source = orgs.app.sources.default(orgs.a)
    assert source.url_encrypted is not None
    assert orgs.app.sources.masked_url(source) is None
    assert source.options == {"engine": "postgresql"}
    changed = orgs.app.sources.update(orgs.a, source.id, options={"timeout": 30, "engine": "duckdb"})
    assert changed.options == {"timeout": 30, "engine": "postgresql"}
    orgs.app.sources.update(orgs.a, source.id, options={})


# ----- isolation ----------------------------------------------------------------------------------------
def test_an_organization_cannot_read_another_organizations_dataset(orgs: Orgs) -> None:
    dataset = orgs.app.datasets.create(orgs.b, name="secrets")
    orgs.app.datasets.append(orgs.b, dataset.id, LoadSource.from_rows([{"secret": "b only"}]))
    assert sql(orgs.app, orgs.b, "SELECT * FROM secrets").to_pylist() == [{"secret": "b only"}]
    table = orgs.app.datasets.get(orgs.b, dataset.id).table_name
    for target in (f"{orgs.b_name}.secrets", f"{orgs.b_name}.{table}"):
        with pytest.raises(QueryFailedError, match="permission denied"):
            sql(orgs.app, orgs.a, f"SELECT * FROM {target}")
    outcome = orgs.app.jobs.run_adhoc(orgs.a, f"SELECT * FROM {orgs.b_name}.secrets", wait=10)
    assert outcome.result is None and outcome.job is not None
    assert outcome.job.status == JobStatus.FAILURE
    assert "permission denied" in (outcome.job.error or "")


def test_an_organization_cannot_read_the_metadata_tables(orgs: Orgs) -> None:
    with pytest.raises(QueryFailedError, match="permission denied"):
        sql(orgs.app, orgs.a, "SELECT * FROM public.api_keys")
    with pytest.raises(QueryFailedError, match="does not exist"):
        sql(orgs.app, orgs.a, "SELECT * FROM organizations")  # nor find them by name


def test_an_organization_cannot_change_its_role(orgs: Orgs) -> None:
    for statement in ("SET ROLE postgres", f'SET ROLE "{orgs.b_name}"', "SET SESSION AUTHORIZATION postgres"):
        with pytest.raises(QueryFailedError, match="permission denied"):
            sql(orgs.app, orgs.a, statement)
    sql(orgs.app, orgs.a, "RESET ROLE")
    assert sql(orgs.app, orgs.a, "SELECT current_user AS u").to_pylist() == [{"u": orgs.a_name}]
    with pytest.raises(QueryFailedError, match="permission denied"):
        sql(orgs.app, orgs.a, "SELECT * FROM public.api_keys")


def test_an_organization_cannot_create_outside_its_schema(orgs: Orgs) -> None:
    with pytest.raises(QueryFailedError, match="permission denied"):
        sql(orgs.app, orgs.a, "CREATE TABLE public.mine (a int)")
    with pytest.raises(QueryFailedError, match="permission denied"):
        sql(orgs.app, orgs.a, f"CREATE TABLE {orgs.b_name}.mine (a int)")
    with pytest.raises(QueryFailedError, match="permission denied"):
        sql(orgs.app, orgs.a, "CREATE SCHEMA elsewhere")


def test_the_schema_listing_shows_only_the_organizations_tables(orgs: Orgs) -> None:
    sql(orgs.app, orgs.a, "CREATE TABLE listed (id bigint, label text)")
    tables = orgs.app.sources.schema(orgs.a, orgs.app.sources.default(orgs.a).id)
    listed = {t.name: t for t in tables}
    assert "listed" in listed and "secrets" not in listed
    assert listed["listed"].schema is None
    assert [(c.name, c.type) for c in listed["listed"].columns] == [("id", "integer"), ("label", "string")]
    assert all(c.name != "__openlytics_row" for t in tables for c in t.columns)


# ----- engines chosen per organization ---------------------------------------------------------------
def test_an_organization_created_before_the_warehouse_url_keeps_duckdb(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = Openlytics(settings_for(data_dir))
    app.start()
    try:
        old, _ = new_org(app)
        sql(app, old, "CREATE TABLE kept AS SELECT 42 AS answer")
    finally:
        app.stop()
    with postgres_warehouse() as url:
        app = Openlytics(settings_for(data_dir, warehouse_url=url))
        app.start()
        try:
            source = app.sources.default(old)
            assert app.sources.sql_dialect(source) == "duckdb"
            assert isinstance(app.sources.engine(source), DuckDBEngine)
            assert sql(app, old, "SELECT answer FROM kept").to_pylist() == [{"answer": 42}]
            new, _ = new_org(app)
            assert app.sources.sql_dialect(app.sources.default(new)) == "postgresql"
            embedded, _ = new_org(app, warehouse="embedded")
            assert app.sources.sql_dialect(app.sources.default(embedded)) == "duckdb"
        finally:
            app.stop()


def test_asking_for_postgresql_without_its_url_is_refused(tmp_path: Path) -> None:
    app = Openlytics(settings_for(tmp_path / "data"))
    app.start()
    try:
        with pytest.raises(InvalidInputError) as refused:
            new_org(app, warehouse="postgresql")
        assert refused.value.field == "warehouse"
        with app.db.session() as s:  # nothing of the organization was kept
            assert s.scalar(sa.select(sa.func.count()).select_from(DataSource)) == 1
    finally:
        app.stop()


# ----- queries ------------------------------------------------------------------------------------------
def test_queries_return_arrow_results_with_types(orgs: Orgs) -> None:
    outcome = orgs.app.jobs.run_adhoc(
        orgs.a,
        "SELECT 1::int AS i, 2::bigint AS b, 1.5::float8 AS f, 'x'::text AS s, true AS t, "
        "DATE '2024-01-02' AS d, TIMESTAMP '2024-01-02 03:04:05' AS ts, 1.25::numeric(10, 2) AS n",
        wait=10,
    )
    assert outcome.result is not None, outcome.job and outcome.job.error
    table = orgs.app.results.open(outcome.result.path).read_all()
    types = {f.name: f.type for f in table.schema}
    assert types["i"] == pa.int32() and types["b"] == pa.int64() and types["f"] == pa.float64()
    assert types["s"] == pa.string() and types["t"] == pa.bool_() and types["d"] == pa.date32()
    assert pa.types.is_timestamp(types["ts"]) and pa.types.is_decimal(types["n"])
    assert table.column("i").to_pylist() == [1]


def test_cancel_interrupts_a_running_statement(orgs: Orgs) -> None:
    outcome = orgs.app.jobs.run_adhoc(orgs.a, "SELECT pg_sleep(30)", wait=0)
    assert outcome.job is not None
    job_id = outcome.job.id
    deadline = time.monotonic() + 10
    while orgs.app.jobs.get(orgs.a, job_id).status != JobStatus.STARTED and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    cancelled = orgs.app.jobs.cancel(orgs.a, job_id)
    if cancelled.status != JobStatus.CANCELLED:
        cancelled = orgs.app.jobs.wait(job_id, 10)
    assert cancelled.status == JobStatus.CANCELLED
    assert time.monotonic() - started < 10
    assert not sleeping(orgs.url)


def sleeping(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        found = conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'"
            )
        )
    engine.dispose()
    return bool(found)


def test_concurrent_first_opens_provision_once(orgs: Orgs) -> None:
    principal, name = new_org(orgs.app)
    source = orgs.app.sources.default(principal)
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            orgs.app.sources.open_engine(
                "warehouse", orgs.app.box.decrypt(source.url_encrypted or ""), None
            ).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert role_facts(name) is not None


def test_warehouse_size_counts_the_schemas_tables(orgs: Orgs) -> None:
    before = orgs.app.sources.warehouse_bytes(orgs.a.org_id)
    sql(
        orgs.app,
        orgs.a,
        "CREATE TABLE sized AS SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 20000) g",
    )
    after = orgs.app.sources.warehouse_bytes(orgs.a.org_id)
    assert after - before > 1_000_000
    usage = orgs.app.account.usage(orgs.a)
    assert usage.usage["storage_mb"] >= round(after / (1024 * 1024), 2) - 0.01


# ----- SQL the server writes for the warehouse ---------------------------------------------------------
def rows_of(app: Openlytics, principal: Principal, text: str) -> list[dict[str, object]]:
    outcome = app.jobs.run_adhoc(principal, text, wait=30, max_age=0)
    assert outcome.result is not None, outcome.job and outcome.job.error
    return app.jobs.inline_rows(outcome.result) or []


def test_the_consolidation_query_runs_on_postgresql(orgs: Orgs) -> None:
    principal, _ = new_org(orgs.app)
    columns = [
        {"columnName": "id", "columnType": {"type": "INTEGER"}, "primaryKey": True},
        {"columnName": "status", "columnType": {"type": "VARCHAR"}},
        {"columnName": "_metadata__received_at", "columnType": {"type": "TIMESTAMP"}},
    ]
    orgs.app.output_tables.create(principal, "orders", columns)
    t = [dt.datetime(2026, 1, 1, h) for h in range(4)]
    batch = pa.table(
        {
            "id": [1, 2, 1, 2],
            "status": ["new", "new", "paid", "lost"],
            "_metadata__received_at": [t[0], t[3], t[2], t[1]],
        }
    )
    orgs.app.pipeline_outputs.sink(principal.org_id).load(None, "orders", batch)
    statement = orgs.app.scheduled_queries.consolidation_sql(principal, None, "orders")
    assert "CREATE OR REPLACE" not in statement
    for _ in range(2):  # rebuilt on each run
        rows_of(orgs.app, principal, statement)
        consolidated = rows_of(orgs.app, principal, "SELECT id, status FROM orders_consolidated ORDER BY id")
        assert consolidated == [{"id": 1, "status": "paid"}, {"id": 2, "status": "new"}]


def test_structured_queries_and_row_filters_speak_postgresql(orgs: Orgs) -> None:
    principal, _ = new_org(orgs.app)
    app = orgs.app
    dataset = app.datasets.create(principal, name="visits")
    when = [
        dt.datetime(2026, 1, 5),
        dt.datetime(2026, 1, 20),
        dt.datetime(2026, 2, 3),
        dt.datetime(2026, 2, 4),
    ]
    app.datasets.reload(
        principal,
        dataset.id,
        LoadSource.from_arrow(pa.table({"at": when, "country": ["FR", "DE", "FR", "IT"], "n": [1, 2, 3, 4]})),
    )
    dataset = app.datasets.get(principal, dataset.id)
    answer = app.structured_queries.run(
        principal,
        dataset,
        {
            "select": [{"name": "at", "timeslot": "month"}, {"name": "n", "agg_function": "sum"}],
            "where": [{"name": "country", "op": "!in", "value": ["IT"]}],
            "group_by": [{"name": "at", "timeslot": "month"}],
            "order_by": [{"name": "at", "timeslot": "month"}],
        },
        measures={"double": "2 * [n]"},
    )
    assert answer.data == [["2026-01-01", 3], ["2026-02-01", 3]]
    filtered = app.datasets.row_filters
    app.datasets.row_filters = lambda who, ds: [Condition("country", "in", ("FR",))]
    try:
        assert app.datasets.read(principal, dataset.id).read_all().column("n").to_pylist() == [1, 3]
    finally:
        app.datasets.row_filters = filtered


def test_names_postgresql_would_cut_are_refused_not_merged(orgs: Orgs) -> None:
    principal, _ = new_org(orgs.app)
    app = orgs.app
    long_name = "a" * 60 + "é" * 2  # 64 bytes: PostgreSQL would keep 63 and merge it with its twin
    with pytest.raises(InvalidInputError) as refused:
        app.datasets.create(principal, name=long_name, columns=[{"name": "n", "type": "int64"}])
    assert refused.value.field == "name"
    assert app.datasets.find_by_name(principal, long_name) is None, "nothing of the dataset is kept"
    with pytest.raises(InvalidInputError) as refused:
        app.datasets.create(principal, name="wide", columns=[{"name": "c" * 64, "type": "int64"}])
    assert refused.value.field == "columns"
    fits = app.datasets.create(principal, name="a" * 63, columns=[{"name": "c" * 63, "type": "int64"}])
    app.datasets.append(principal, fits.id, LoadSource.from_rows([{"c" * 63: 1}]))
    assert sql(app, principal, f'SELECT * FROM "{"a" * 63}"').to_pylist() == [{"c" * 63: 1}]


def test_a_quiet_organization_gives_its_warehouse_connections_back(orgs: Orgs) -> None:
    principal, name = new_org(orgs.app)
    app = orgs.app
    dataset = app.datasets.create(principal, name="quiet", columns=[{"name": "n", "type": "int64"}])
    app.datasets.append(principal, dataset.id, LoadSource.from_rows([{"n": 1}, {"n": 2}]))
    assert sql(app, principal, "SELECT sum(n) AS s FROM quiet").to_pylist() == [{"s": 3}]

    def connections() -> int:
        engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            count = conn.scalar(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE usename = :u"), {"u": name}
            )
        engine.dispose()
        return int(count or 0)

    assert connections() >= 1, "queries' and dataset tables' pools keep connections"
    app.engines.release_idle(idle_seconds=0)
    assert connections() == 0
    assert sql(app, principal, "SELECT count(*) AS c FROM quiet").to_pylist() == [{"c": 2}], "reconnects"
