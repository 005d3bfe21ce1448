"""The pipeline output: the warehouse by default, a real PostgreSQL output, unreachable cloud outputs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, PermissionDeniedError, SourceUnavailableError
from openlytics.core.pipeline.sinks import PostgresSink, WarehouseSink
from openlytics.core.principal import Principal, Role
from tests.conftest import POSTGRES_URL, make_settings

MASK = "**********"


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
    name = f"out_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        engine.dispose()


def postgres_configuration(schema: str, **changes: object) -> dict[str, object]:
    url = sa.make_url(POSTGRES_URL)
    return {
        "sinkType": "REDSHIFT",
        "hostname": url.host,
        "port": url.port or 5432,
        "databaseName": url.database,
        "username": url.username,
        "password": "s3cret-password",
        "schemaName": schema,
        "skipValidation": False,
    } | changes


def test_the_default_output_is_the_warehouse(app: Openlytics, system: Principal) -> None:
    record = app.pipeline_outputs.get(system)
    assert (record.name, record.type) == ("Redshift", "REDSHIFT")
    assert app.pipeline_outputs.shown_configuration(record) == {
        "sinkType": "REDSHIFT",
        "target": "warehouse",
        "schemaName": "public",
        "skipValidation": False,
    }
    assert app.pipeline_outputs.get(system).id == record.id  # created once
    assert isinstance(app.pipeline_outputs.sink(system.org_id), WarehouseSink)
    assert app.pipeline_outputs.default_schema(system.org_id) == "public"
    assert app.pipeline_outputs.data_source(system).kind == "warehouse"


def test_a_postgresql_output_is_validated_and_its_password_masked(
    app: Openlytics, system: Principal, pg_schema: str
) -> None:
    outputs = app.pipeline_outputs
    record = outputs.set(system, type="REDSHIFT", configuration=postgres_configuration(pg_schema))
    shown = outputs.shown_configuration(record)
    assert shown["password"] == MASK
    assert "s3cret-password" not in json.dumps(record.configuration)
    assert shown["schemaName"] == pg_schema and shown["hostname"]
    assert record.validated
    assert outputs.default_schema(system.org_id) == pg_schema
    sink = outputs.sink(system.org_id)
    assert isinstance(sink, PostgresSink) and sink.default_schema == pg_schema
    assert outputs.sink(system.org_id) is sink  # the pool is reused
    sink.create_table(None, "events", [("id", "int64")])
    assert sink.load(None, "events", pa.table({"id": [1, 2]})) == 2
    source = outputs.data_source(system)
    assert source.kind == "postgresql"
    assert "s3cret-password" not in (app.sources.masked_url(source) or "")

    # The masked password given back keeps the stored one; the data source follows the output.
    again = outputs.set(
        system, type="REDSHIFT", configuration=outputs.shown_configuration(record) | {"port": "5432"}
    )
    assert again.validated and outputs.data_source(system).id == source.id

    back = outputs.set(system, type="REDSHIFT", configuration={"target": "warehouse"})
    assert outputs.is_warehouse(back)
    assert isinstance(outputs.sink(system.org_id), WarehouseSink)
    assert outputs.shown_configuration(back) == {
        "sinkType": "REDSHIFT",
        "target": "warehouse",
        "schemaName": "public",
        "skipValidation": False,
    }


def test_a_postgresql_output_that_refuses_the_login_fails_validation(
    app: Openlytics, system: Principal, pg_schema: str
) -> None:
    wrong = postgres_configuration(pg_schema, username="no_such_role_x", password="wrong")
    with pytest.raises(InvalidInputError, match='role "no_such_role_x" does not exist'):
        app.pipeline_outputs.set(system, type="REDSHIFT", configuration=wrong)
    with pytest.raises(InvalidInputError, match="no schema"):
        app.pipeline_outputs.set(
            system, type="REDSHIFT", configuration=postgres_configuration("missing_" + pg_schema)
        )
    with pytest.raises(InvalidInputError) as missing:
        app.pipeline_outputs.set(
            system, type="REDSHIFT", configuration=postgres_configuration(pg_schema, databaseName="")
        )
    assert missing.value.field == "configuration.databaseName"
    assert app.pipeline_outputs.is_warehouse(app.pipeline_outputs.get(system))  # nothing changed


def test_ssh_tunnels_are_refused_unless_validation_is_skipped(
    app: Openlytics, system: Principal, pg_schema: str
) -> None:
    ssh = json.dumps({"server": "bastion", "port": 22, "username": "me", "password": "tunnel-pw"})
    with pytest.raises(InvalidInputError, match="SSH tunnels are not supported"):
        app.pipeline_outputs.set(
            system, type="REDSHIFT", configuration=postgres_configuration(pg_schema, ssh=ssh)
        )
    record = app.pipeline_outputs.set(
        system,
        type="REDSHIFT",
        configuration=postgres_configuration(pg_schema, ssh=ssh, skipValidation="true"),
    )
    shown = app.pipeline_outputs.shown_configuration(record)
    assert json.loads(shown["ssh"]) == {"server": "bastion", "port": 22, "username": "me", "password": MASK}
    assert shown["skipValidation"] is True and not record.validated


def test_snowflake_and_bigquery_are_shape_checked_and_unreachable(app: Openlytics, system: Principal) -> None:
    snowflake = {
        "sinkType": "SNOWFLAKE",
        "warehouseName": "WH",
        "accountName": "acct",
        "schemaName": "PUBLIC",
        "databaseName": "DB",
        "username": "loader",
        "password": "snow-pw",
    }
    outputs = app.pipeline_outputs
    with pytest.raises(InvalidInputError) as missing:
        outputs.set(
            system, type="SNOWFLAKE", configuration={k: v for k, v in snowflake.items() if k != "accountName"}
        )
    assert missing.value.field == "configuration.accountName"
    with pytest.raises(InvalidInputError, match="Snowflake cannot be reached from this server"):
        outputs.set(system, type="SNOWFLAKE", configuration=snowflake)

    record = outputs.set(system, type="SNOWFLAKE", configuration=snowflake | {"skipValidation": "true"})
    assert (record.type, record.name) == ("SNOWFLAKE", "Snowflake")
    shown = outputs.shown_configuration(record)
    assert shown["password"] == MASK and shown["warehouseName"] == "WH"
    with pytest.raises(SourceUnavailableError, match="Snowflake cannot be reached"):
        outputs.sink(system.org_id).load(None, "events", pa.table({"id": [1]}))

    with pytest.raises(InvalidInputError) as missing:
        outputs.set(system, type="BIGQUERY", configuration={"projectName": "p"})
    assert missing.value.field == "configuration.datasetName"
    bigquery = {"projectName": "p", "datasetName": "d"}
    with pytest.raises(InvalidInputError, match="BigQuery cannot be reached"):
        outputs.set(system, type="BIGQUERY", configuration=bigquery)
    record = outputs.set(
        system, type="BIGQUERY", configuration=bigquery | {"skipValidation": True}, name="BQ"
    )
    assert record.name == "BQ" and outputs.shown_configuration(record)["projectName"] == "p"
    with pytest.raises(SourceUnavailableError, match="BigQuery"):
        outputs.sink(system.org_id).table_columns(None, "events")


def test_outputs_belong_to_one_organization_and_only_admins_change_them(
    app: Openlytics, system: Principal, pg_schema: str
) -> None:
    superadmin = Principal(system.org_id, None, Role.ADMIN, "user_key", is_superadmin=True)
    other = app.identity.create_organization(superadmin, name="Other", admin_email="o@example.test")
    other_admin = Principal(other.organization.id, other.admin.id, Role.ADMIN, "user_key")
    app.pipeline_outputs.set(system, type="REDSHIFT", configuration=postgres_configuration(pg_schema))
    assert app.pipeline_outputs.is_warehouse(app.pipeline_outputs.get(other_admin))
    assert isinstance(app.pipeline_outputs.sink(other_admin.org_id), WarehouseSink)

    viewer = Principal(system.org_id, None, Role.VIEWER, "user_key")
    editor = Principal(system.org_id, None, Role.EDITOR, "user_key")
    app.pipeline_outputs.get(viewer)
    with pytest.raises(PermissionDeniedError):
        app.pipeline_outputs.set(editor, type="REDSHIFT", configuration={"target": "warehouse"})
