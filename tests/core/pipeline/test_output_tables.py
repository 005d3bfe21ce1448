"""Output tables: the warehouse's datasets as tables, a PostgreSQL output's information_schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.pipeline.output_tables import OutputColumn, OutputTable
from openlytics.core.principal import Principal, Role
from tests.conftest import POSTGRES_URL, make_settings

COLUMNS = [
    {
        "columnName": "id",
        "columnType": {"type": "BIGINT", "nonNull": True},
        "primaryKey": True,
        "distKey": True,
        "sortKeyIndex": 0,
    },
    {"columnName": "name", "columnType": {"type": "VARCHAR", "length": 100, "nonNull": False}},
]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def system(app: Openlytics) -> Principal:
    return Principal.system(app.identity.organizations()[0].id)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    name = f"tbl_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        conn.exec_driver_sql(
            f'CREATE TABLE "{name}".existing (id INTEGER PRIMARY KEY, label TEXT, at TIMESTAMP)'
        )
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}_new" CASCADE')
        engine.dispose()


def use_postgres(app: Openlytics, system: Principal, schema: str) -> None:
    url = sa.make_url(POSTGRES_URL)
    configuration = {
        "hostname": url.host,
        "port": url.port or 5432,
        "databaseName": url.database,
        "username": url.username,
        "password": "pw",
        "schemaName": schema,
    }
    app.pipeline_outputs.set(system, type="REDSHIFT", configuration=configuration)


def test_warehouse_tables_are_created_listed_and_altered(app: Openlytics, system: Principal) -> None:
    tables = app.output_tables
    created = tables.create(system, "customers", COLUMNS)
    assert created == OutputTable(
        "public",
        "customers",
        [
            OutputColumn(
                "id", {"type": "BIGINT", "nonNull": True}, primary_key=True, dist_key=True, sort_key_index=0
            ),
            OutputColumn("name", {"type": "VARCHAR", "length": 100, "nonNull": False}),
        ],
    )
    dataset = app.datasets.find_by_name(system, "customers")
    assert dataset is not None and dataset.primary_key == ["id"]
    assert [c["type"] for c in dataset.columns] == ["int64", "string"]
    with pytest.raises(ConflictError):
        tables.create(system, "customers", COLUMNS)

    assert tables.list(system, shallow=True) == [OutputTable("public", "customers", [])]
    assert tables.list(system, schema="PUBLIC") == [created]
    assert tables.list(system, schema="elsewhere") == []

    altered = tables.alter(
        system,
        "customers",
        [*COLUMNS, {"columnName": "score", "columnType": {"type": "FLOAT", "nonNull": False}}],
    )
    assert [c.name for c in altered.columns] == ["id", "name", "score"]
    assert altered.columns[2].column_type == {"type": "FLOAT", "nonNull": False}
    with pytest.raises(InvalidInputError, match="changing the type"):
        tables.alter(system, "customers", [{"columnName": "name", "columnType": {"type": "INT"}}])
    with pytest.raises(NotFoundError):
        tables.alter(system, "nobody", COLUMNS)
    with pytest.raises(InvalidInputError):
        tables.create(system, "bad", [{"columnName": "x", "columnType": {"type": "GEOMETRY"}}])

    assert tables.schemas(system) == [("public", True)]
    with pytest.raises(InvalidInputError, match="one schema"):
        tables.create_schema(system, "staging")


def test_dependencies_block_a_drop_until_cascade(app: Openlytics, system: Principal) -> None:
    tables = app.output_tables
    tables.create(system, "sales", COLUMNS)
    tables.create(system, "other", COLUMNS)
    query = app.queries.create(system, name="Daily sales", sql='SELECT count(*) FROM "sales"')
    app.queries.create(system, name="Unrelated", sql="SELECT * FROM other")
    dashboard = app.dashboards.create(system, name="Ops")
    viz = app.visualizations.for_queries(system, [query.id])[query.id][0]
    app.dashboards.add_widget(system, dashboard_id=dashboard.id, visualization_id=viz.id)

    expected = [f"query:Daily sales ({query.id})", f"dashboard:Ops ({dashboard.id})"]
    assert tables.dependencies(system, "public", "sales") == expected
    assert tables.dependencies(system, "public", "other") == [f"query:Unrelated ({query.id + 1})"]
    with pytest.raises(ConflictError, match="Daily sales"):
        tables.drop(system, "public", "sales")
    assert app.datasets.find_by_name(system, "sales") is not None

    tables.drop(system, "public", "sales", cascade=True)
    assert app.datasets.find_by_name(system, "sales") is None
    assert app.queries.get(system, query.id).is_archived
    with pytest.raises(NotFoundError):
        tables.drop(system, "public", "sales")


def test_tables_of_a_postgresql_output_come_from_its_database(
    app: Openlytics, system: Principal, pg_schema: str
) -> None:
    use_postgres(app, system, pg_schema)
    tables = app.output_tables
    listed = tables.list(system)
    assert listed == [
        OutputTable(
            pg_schema,
            "existing",
            [
                OutputColumn("id", {"type": "INT", "nonNull": True}, primary_key=True),
                OutputColumn(
                    "label", {"type": "VARCHAR", "length": 256, "nonNull": False, "truncate": False}
                ),
                OutputColumn("at", {"type": "TIMESTAMP", "nonNull": False}),
            ],
        )
    ]
    created = tables.create(system, "orders", COLUMNS)
    assert [(c.name, c.primary_key) for c in created.columns] == [("id", True), ("name", False)]
    assert [t.name for t in tables.list(system, shallow=True)] == ["existing", "orders"]
    altered = tables.alter(system, "orders", [{"columnName": "paid", "columnType": {"type": "BOOLEAN"}}])
    assert [c.name for c in altered.columns] == ["id", "name", "paid"]

    tables.create_schema(system, pg_schema + "_new")
    assert (pg_schema, True) in tables.schemas(system)
    assert (pg_schema + "_new", False) in tables.schemas(system)
    with pytest.raises(ConflictError):
        tables.create_schema(system, pg_schema + "_new")

    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE VIEW "{pg_schema}".paid AS SELECT id FROM "{pg_schema}".orders')
    engine.dispose()
    assert tables.dependencies(system, pg_schema, "orders") == [f"view:{pg_schema}.paid"]
    with pytest.raises(ConflictError):
        tables.drop(system, pg_schema, "orders")
    tables.drop(system, pg_schema, "orders", cascade=True)
    assert [t.name for t in tables.list(system, shallow=True)] == ["existing"]


def test_tables_are_scoped_to_the_organization(app: Openlytics, system: Principal) -> None:
    superadmin = Principal(system.org_id, None, Role.ADMIN, "user_key", is_superadmin=True)
    other = app.identity.create_organization(superadmin, name="Other", admin_email="o@example.test")
    other_admin = Principal(other.organization.id, other.admin.id, Role.ADMIN, "user_key")
    app.output_tables.create(system, "mine", COLUMNS)
    assert app.output_tables.list(other_admin) == []
    with pytest.raises(NotFoundError):
        app.output_tables.drop(other_admin, "public", "mine")
    app.output_tables.create(other_admin, "mine", COLUMNS)  # the same name in another organization
    viewer = Principal(system.org_id, None, Role.VIEWER, "user_key")
    assert [t.name for t in app.output_tables.list(viewer, shallow=True)] == ["mine"]
    with pytest.raises(PermissionDeniedError):
        app.output_tables.create(viewer, "theirs", COLUMNS)
