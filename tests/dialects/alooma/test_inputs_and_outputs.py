"""The structure, inputs and the output through the real alooma client."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.conftest import FreshPostgresDatabase
from tests.dialects.alooma.conftest import Alooma

SNOWFLAKE = {
    "sinkType": "SNOWFLAKE",
    "skipValidation": True,
    "accountName": "acct",
    "warehouseName": "WH",
    "schemaName": "PUBLIC",
    "databaseName": "DB",
    "username": "user",
    "password": "pw",
}
S3_CONFIGURATION = {
    "awsAccessKeyId": "AKIA2",
    "awsSecretAccessKey": "other",
    "awsBucketName": "b",
    "filePrefix": "",
    "loadFiles": "all",
    "fileFormat": json.dumps({"type": "json"}),
}


def test_the_structure_has_every_node_the_client_looks_for(al: Alooma) -> None:
    nodes = al.client.get_structure()["nodes"]
    for node in nodes:
        assert {"id", "name", "type", "category", "deleted", "stats", "configuration", "state"} <= set(node)
    types = {n["type"]: n for n in nodes}
    assert types["TRANSFORMER"]["name"] == "Code Engine"
    assert types["RESTREAM"]["name"] == "Restream" and types["RESTREAM"]["category"] == "INPUT"
    assert types["MAPPER"]["name"] == "Mapper"
    assert types["REDSHIFT"]["category"] == "OUTPUT"
    assert al.client.get_plumbing()["nodes"] == nodes
    assert al.client.get_transform_node_id() == types["TRANSFORMER"]["id"]
    assert al.client.get_restream_queue_size() == 0
    assert al.client.get_restream_stats() == {"number_of_events": 0}


def test_inputs_are_created_found_edited_paused_and_removed(al: Alooma) -> None:
    web = al.client.create_input({"name": "web", "type": "REST", "configuration": {}})
    assert [i["id"] for i in al.client.get_inputs(name="web")] == [web]
    assert al.client.get_throughput_by_name("web") == [0]
    s3 = al.client.create_s3_input("files", "AKIA1", "s3cret", "bucket", prefix="in/", file_format="json")
    mixpanel = al.client.create_mixpanel_input("mk", "ms", "2020-01-01", "mixpanel")
    unvalidated = al.client.create_input(
        {"name": "db", "type": "S3", "configuration": S3_CONFIGURATION}, validate=False
    )
    assert len({web, s3, mixpanel, unvalidated}) == 4

    by_type = al.client.get_inputs(input_type="S3")
    assert {i["id"] for i in by_type} == {s3, unvalidated}
    assert [i["name"] for i in al.client.get_inputs(input_id=mixpanel)] == ["mixpanel"]
    files = al.client.get_inputs(name="fil")[0]
    assert files["configuration"]["awsSecretAccessKey"] == "**********"
    assert json.loads(files["configuration"]["fileFormat"]) == {"type": "json"}
    webhook = al.client.get_inputs(name="web")[0]["configuration"]
    assert webhook["url"].endswith(f"/alooma/inputs/rest/{webhook['token']}")

    detail = al.client.get_input_by_id(web)
    assert detail["job"]["name"] == "web" and detail["job"]["type"] == "REST"
    (task,) = detail["tasks"].values()
    assert task["category"] == "inputs" and task["status"] == "active"
    assert al.client.get_input_by_name("mixpanel")["job"]["id"] == mixpanel
    with pytest.raises(KeyError):
        al.client.get_input_by_name("nope")

    edited = al.client.edit_input(
        {"id": s3, "name": "files2", "type": "S3", "configuration": files["configuration"]}
    )
    assert edited.status_code == 200 and edited.json()["name"] == "files2"
    assert al.client.get_inputs(input_id=s3)[0]["configuration"]["awsSecretAccessKey"] == "**********"

    assert al.client.pause_input_by_id(web)["state"]["paused"] is True
    assert al.client.resume_input_by_id(web)["state"]["paused"] is False

    assert al.client.get_input_sleep_time(web) == 60.0
    assert al.client.set_input_sleep_time(web, 30).status_code == 200
    assert al.client.get_input_sleep_time(web) == 30.0

    al.client.remove_input(mixpanel)
    assert al.client.get_inputs(input_id=mixpanel) == []
    al.client.remove_all_inputs()
    assert list(al.client.get_inputs()) == []
    assert al.client.get_restream_queue_size() == 0  # the restream node is never removed


def test_the_output_is_the_warehouse_and_can_be_pointed_elsewhere(al: Alooma) -> None:
    node = al.client.get_output_node()
    assert node["type"] == "REDSHIFT" and node["category"] == "OUTPUT"
    assert al.client.get_output_config() == node["configuration"]
    assert al.client.get_redshift_node()["id"] == node["id"]
    assert al.client.get_redshift_config() == node["configuration"]
    assert al.client.get_snowflake_node() is None and al.client.get_bigquery_node() is None
    assert al.client.get_snowflake_config() is None and al.client.get_bigquery_config() is None

    shown = al.client.set_redshift_config(
        "redshift.example", 5439, "public", "dw", "loader", "pa55", skip_validation=True,
        ssh_server="bastion", ssh_port=22, ssh_username="tunnel", ssh_password="sshpw",
    )  # fmt: skip
    assert shown["configuration"]["hostname"] == "redshift.example"
    assert shown["configuration"]["password"] == "**********"
    assert "pa55" not in json.dumps(al.client.get_structure())
    assert "sshpw" not in json.dumps(al.client.get_structure())

    deprecated = al.client.set_output_config(
        "redshift2.example",
        5439,
        "public",
        "dw",
        "loader",
        "pa55",
        skip_validation=True,
        sink_type="REDSHIFT",
    )
    assert deprecated["configuration"]["hostname"] == "redshift2.example"
    assert al.client.get_public_ssh_key().startswith("ssh-rsa ")

    switched = al.raw(
        "PUT",
        f"plumbing/nodes/{node['id']}",
        json={"type": "SNOWFLAKE", "configuration": {**SNOWFLAKE, "warehouseName": "OLD"}},
    )
    assert switched.status_code == 200, switched.text
    snowflake = al.client.set_snowflake_config(
        "acct", "WH", "PUBLIC", "DB", "user", "pw", skip_validation=True
    )
    assert snowflake["type"] == "SNOWFLAKE" and snowflake["configuration"]["password"] == "**********"
    assert al.client.get_snowflake_config()["warehouseName"] == "WH"
    assert al.client.get_snowflake_node()["type"] == "SNOWFLAKE"

    bq = {"sinkType": "BIGQUERY", "projectName": "p0", "datasetName": "d0", "skipValidation": True}
    assert al.raw("PUT", f"plumbing/nodes/{node['id']}", json={"configuration": bq}).status_code == 200
    bigquery = al.client.set_bigquery_config("project", "dataset", skip_validation="true")
    assert bigquery["configuration"]["projectName"] == "project"
    assert al.client.get_bigquery_config()["datasetName"] == "dataset"
    with pytest.raises(Exception, match="Changing output types is not supported"):
        al.client.set_output({"sinkType": "REDSHIFT"})

    back = al.raw(
        "PUT",
        f"plumbing/nodes/{node['id']}",
        json={"configuration": {"sinkType": "REDSHIFT", "target": "warehouse"}},
    )
    assert back.json()["type"] == "REDSHIFT" and back.json()["configuration"]["target"] == "warehouse"


def test_a_postgresql_output_gets_schemas_and_tables(al: Alooma) -> None:
    database = FreshPostgresDatabase.create("alooma_out")
    url = sa.make_url(database.url)
    try:
        node = al.client.set_redshift_config(
            url.host, url.port or 5432, "public", url.database, url.username, url.password or "trust"
        )
        assert node["configuration"]["hostname"] == url.host
        assert al.client.create_schema({"schemaName": "staging"}).status_code == 200
        assert {"schemaName": "staging", "default": False} in al.client.get_schemas()
        column = {"columnName": "id", "columnType": {"type": "BIGINT", "nonNull": True}, "primaryKey": True}
        assert al.client.create_table("people", [column])["schema"] == "public"
        assert [t["tableName"] for t in al.client.get_tables(schema="public")] == ["people"]
        assert al.client.drop_table("public", "people") == 200
    finally:
        warehouse = {"sinkType": "REDSHIFT", "target": "warehouse"}
        al.raw(
            "PUT", f"plumbing/nodes/{al.client.get_output_node()['id']}", json={"configuration": warehouse}
        )
        database.drop()


def test_the_warehouse_has_one_schema(al: Alooma) -> None:
    with pytest.raises(Exception, match="one schema"):
        al.client.create_schema({"schemaName": "staging"})
    assert al.client.get_schemas() == [{"schemaName": "public", "default": True}]
