"""Native API /api/v1/pipeline on a live server: webhook -> transform -> mapping -> warehouse, and back."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from openlytics.testing import LiveServer
from tests.conftest import Org, drain_pipeline

P = "/api/v1/pipeline"
RAISES_ON_BAD = "def transform(event):\n    if event.get('bad'):\n        raise ValueError('bad event')\n    return event\n"


def rest_input(org: Org, name: str | None = None) -> dict[str, Any]:
    created = org.admin.post(
        f"{P}/inputs", json={"name": name or f"web_{uuid.uuid4().hex[:6]}", "type": "rest"}
    )
    assert created.status_code == 201, created.text
    return created.json()


def settle(server: LiveServer, org: Org, expected: int) -> None:
    """Wait until `expected` events in all ended with some status (the worker drained them)."""
    deadline = time.monotonic() + 60
    while True:
        drain_pipeline(server, org.id)
        stats = org.viewer.get(f"{P}/samples/stats").json()["stats"]
        if sum(n for counts in stats.values() for n in counts.values()) >= expected:
            return
        assert time.monotonic() < deadline, stats
        time.sleep(0.1)


def post_events(server: LiveServer, org: Org, record: dict[str, Any], events: list[Any]) -> None:
    token = record["configuration"]["token"]
    answer = httpx.post(f"{server.url}/alooma/inputs/rest/{token}", json=events, timeout=60)
    assert answer.status_code == 200, answer.text


def rows_of(org: Org, table: str) -> int:
    found = org.viewer.get("/api/v1/datasets", params={"q": table}).json()["items"]
    return next((d["row_count"] for d in found if d["name"] == table), 0)


def test_events_flow_from_a_webhook_to_a_table_with_types_samples_and_metrics(
    server: LiveServer, new_org: Org
) -> None:
    record = rest_input(new_org, "shop")
    assert record["type"] == "REST" and record["status"] == "active" and not record["paused"]
    token = record["configuration"]["token"]
    assert record["webhook_url"] == record["configuration"]["url"]
    assert record["configuration"]["url"].endswith(f"/inputs/rest/{token}")
    # The token is the webhook's credential: viewers see it masked.
    assert new_org.viewer.get(f"{P}/inputs/{record['id']}").json()["configuration"]["token"] == "**********"
    listed = new_org.viewer.get(f"{P}/inputs").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == record["id"]

    post_events(server, new_org, record, [{"id": i, "plan": "pro" if i % 2 else "free"} for i in range(3)])
    settle(server, new_org, 3)

    types = new_org.viewer.get(f"{P}/event-types").json()
    assert [t["name"] for t in types["items"]] == ["shop"] and types["total"] == 1
    shop = new_org.viewer.get(f"{P}/event-types/shop").json()
    assert shop["state"] == "MAPPED" and shop["mapping_mode"] == "AUTO_MAP"
    assert shop["input_id"] == record["id"] and shop["input_name"] == "shop"
    assert {"id", "plan", "_metadata"} <= {f["fieldName"] for f in shop["fields"]}
    assert rows_of(new_org, shop["table_name"]) == 3

    stats = new_org.viewer.get(f"{P}/samples/stats").json()
    assert stats == {"stats": {"shop": {"VALID": 3}}}
    samples = new_org.viewer.get(f"{P}/samples", params={"event_type": "shop", "status": "VALID"}).json()
    assert {s["event"]["id"] for s in samples["items"]} == {0, 1, 2}
    assert all(s["status"] == "VALID" and s["created_at"].endswith("Z") for s in samples["items"])
    codes = {c["code"]: c for c in new_org.viewer.get(f"{P}/status-codes").json()["items"]}
    assert codes["TRANSFORM_ERROR"]["restreamed"] and not codes["VALID"]["restreamed"]

    metrics = new_org.viewer.get(
        f"{P}/metrics", params={"names": "INCOMING_EVENTS,ERROR_EVENTS", "minutes": 10}
    ).json()
    assert [s["name"] for s in metrics["series"]] == ["INCOMING_EVENTS", "ERROR_EVENTS"]
    assert sum(p["value"] or 0 for p in metrics["series"][0]["points"]) == 3
    assert len(metrics["series"][0]["points"]) == 10
    assert metrics["series"][0]["points"][-1]["time"].endswith("Z")
    assert new_org.viewer.get(f"{P}/notifications").status_code == 200

    tables = new_org.viewer.get(f"{P}/tables").json()["items"]
    assert shop["table_name"] in {t["name"] for t in tables}
    assert new_org.viewer.get(f"{P}/schemas").json() == {"items": [{"name": "public", "is_default": True}]}
    assert new_org.viewer.get(f"{P}/output").json()["is_warehouse"] is True


def test_a_failing_transform_fills_the_restream_queue_and_the_fix_loads_each_event_once(
    server: LiveServer, new_org: Org
) -> None:
    record = rest_input(new_org, "orders")
    saved = new_org.admin.put(f"{P}/code/modules", json={"main": RAISES_ON_BAD})
    assert saved.status_code == 200 and saved.json()["items"][0]["name"] == "main"
    tested = new_org.admin.post(f"{P}/code/test", json={"sample": {"bad": True}}).json()
    assert tested["result"] is None and "ValueError: bad event" in tested["error"]
    ok = new_org.admin.post(
        f"{P}/code/test", json={"sample": {"n": 1}, "code": "def transform(e):\n    return e"}
    )
    assert ok.json()["result"] == {"n": 1} and ok.json()["error"] is None

    post_events(server, new_org, record, [{"n": 1}, {"n": 2, "bad": True}, {"n": 3, "bad": True}])
    settle(server, new_org, 3)
    queue = new_org.viewer.get(f"{P}/restream").json()
    assert queue["events"] == 2 and queue["bytes"] > 0
    failed = new_org.viewer.get(f"{P}/samples", params={"status": "TRANSFORM_ERROR"}).json()["items"]
    assert {s["event"]["n"] for s in failed} == {2, 3} and "bad event" in failed[0]["error"]

    assert new_org.viewer.post(f"{P}/restream").status_code == 403
    reset = new_org.admin.post(f"{P}/code/reset").json()
    assert reset["name"] == "main" and "return event" in reset["code"]
    assert new_org.admin.post(f"{P}/restream").json() == {"restreamed": 2}
    settle(server, new_org, 5)
    assert new_org.viewer.get(f"{P}/restream").json()["events"] == 0
    table = new_org.viewer.get(f"{P}/event-types/orders").json()["table_name"]
    assert rows_of(new_org, table) == 3

    # Purging an empty queue deletes nothing.
    assert new_org.admin.delete(f"{P}/restream").json() == {"purged": 0}


def test_code_modules_secrets_and_bad_input(new_org: Org) -> None:
    main = new_org.viewer.get(f"{P}/code/modules/main").json()
    assert main["is_default"] is True and "def transform" in main["code"]
    broken = new_org.admin.put(f"{P}/code/modules", json={"main": "def transform(event):\n    return (\n"})
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "invalid_input" and "line" in broken.json()["error"]["message"]
    helpers = "def clean(e):\n    return e\n"
    assert new_org.admin.put(f"{P}/code/modules", json={"helpers": helpers}).status_code == 200
    assert [m["name"] for m in new_org.viewer.get(f"{P}/code/modules").json()["items"]] == ["helpers"]
    assert new_org.viewer.get(f"{P}/code/modules/helpers").json()["code"] == helpers
    assert new_org.admin.delete(f"{P}/code/modules/helpers").status_code == 204
    assert new_org.admin.delete(f"{P}/code/modules/helpers").status_code == 404
    assert isinstance(new_org.viewer.get(f"{P}/code/requirements").json()["items"], list)

    assert new_org.admin.put(f"{P}/secrets", json={"api_token": "s3cr3t"}).json() == {"names": ["api_token"]}
    assert "s3cr3t" not in new_org.viewer.get(f"{P}/secrets").text
    assert new_org.admin.delete(f"{P}/secrets/api_token").status_code == 204
    assert new_org.viewer.get(f"{P}/secrets").json() == {"names": []}

    assert new_org.viewer.get(f"{P}/mapping-mode").json() == {"mode": "AUTO_MAP"}
    bad_mode = new_org.admin.put(f"{P}/mapping-mode", json={"mode": "SOMETIMES"})
    assert bad_mode.status_code == 422 and "STRICT" in bad_mode.json()["error"]["message"]
    assert new_org.admin.put(f"{P}/mapping-mode", json={"mode": "strict"}).json() == {"mode": "STRICT"}
    assert new_org.viewer.put(f"{P}/mapping-mode", json={"mode": "FLEXIBLE"}).status_code == 403
    assert new_org.viewer.get(f"{P}/metrics", params={"names": "NOPE"}).status_code == 422
    assert new_org.viewer.get(f"{P}/samples", params={"status": "NOPE"}).status_code == 422


def test_mappings_of_event_types_with_slashes_and_discard(new_org: Org) -> None:
    document = {
        "mapping": {"tableName": "page_views"},
        "fields": [{"fieldName": "url", "mapping": {"columnName": "url", "columnType": {"type": "VARCHAR"}}}],
    }
    path = f"{P}/event-types/web/page views/mapping"
    assert new_org.viewer.put(path, json=document).status_code == 403
    mapped = new_org.admin.put(path, json=document)
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["name"] == "web/page views" and mapped.json()["table_name"] == "page_views"
    assert new_org.viewer.get(f"{P}/event-types/web/page views").json()["state"] == "MAPPED"
    discarded = new_org.admin.post(f"{P}/event-types/web/page views/discard").json()
    assert discarded["state"] == "DISCARDED" and discarded["is_discarded"] is True
    assert new_org.admin.delete(f"{P}/event-types/web/page views").status_code == 204
    assert new_org.viewer.get(f"{P}/event-types/web/page views").status_code == 404


def test_inputs_lifecycle_permissions_uploads_and_isolation(
    server: LiveServer, new_org: Org, admin: httpx.Client
) -> None:
    record = rest_input(new_org)
    base = f"{P}/inputs/{record['id']}"
    assert new_org.viewer.post(f"{base}/pause").status_code == 403
    assert new_org.admin.post(f"{base}/pause").json()["paused"] is True
    token = record["configuration"]["token"]
    refused = httpx.post(f"{server.url}/alooma/inputs/rest/{token}", json={"a": 1}, timeout=60)
    assert refused.status_code == 409
    assert new_org.admin.post(f"{base}/resume").json()["paused"] is False
    renamed = new_org.admin.patch(base, json={"name": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    assert new_org.admin.post(f"{base}/poll").status_code == 422  # a webhook is not polled

    folder = server.settings.data_dir.parent / f"drop_{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    files = new_org.admin.post(
        f"{P}/inputs", json={"name": "files", "type": "FILE", "configuration": {"path": str(folder)}}
    ).json()
    assert files["sleep_seconds"] == 60
    slept = new_org.admin.put(f"{P}/inputs/{files['id']}/sleep", json={"seconds": 5})
    assert slept.json()["sleep_seconds"] == 5
    upload = f"{P}/inputs/{files['id']}/files"
    csv = b"id,name\n1,ada\n2,grace\n"
    assert new_org.viewer.post(upload, params={"filename": "p.csv"}, content=csv).status_code == 403
    added = new_org.admin.post(upload, params={"filename": "people.csv"}, content=csv)
    assert added.status_code == 200 and added.json() == {"events": 2}
    lines = b'{"id": 3}\n{"id": 4}\n{"id": 5}\n'
    assert new_org.admin.post(upload, params={"filename": "more.jsonl"}, content=lines).json() == {
        "events": 3
    }
    bad = new_org.admin.post(upload, params={"filename": "bad.jsonl"}, content=b'{"id": 1}\nnope\n')
    assert bad.status_code == 422
    assert (
        new_org.admin.post(
            f"{P}/inputs/{record['id']}/files", params={"filename": "x.csv"}, content=csv
        ).status_code
        == 422
    )
    settle(server, new_org, 5)
    assert rows_of(new_org, "files") == 5

    # Another organization sees none of it.
    other = admin.post(
        "/api/v1/organizations", json={"name": "other", "admin_email": f"a@{uuid.uuid4().hex[:8]}.test"}
    ).json()
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {other['api_key']}"}, timeout=60
    ) as stranger:
        assert stranger.get(base).status_code == 404
        assert stranger.post(f"{base}/pause").status_code == 404
        assert stranger.get(f"{P}/inputs").json()["items"] == []
        assert stranger.get(f"{P}/event-types/files").status_code == 404
        assert stranger.get(f"{P}/samples/stats").json() == {"stats": {}}

    assert new_org.admin.delete(base).status_code == 204
    assert new_org.viewer.get(base).status_code == 404
    assert len(new_org.viewer.get(f"{P}/inputs", params={"include_deleted": True}).json()["items"]) == 2


def test_output_tables_scheduled_queries_and_settings(new_org: Org) -> None:
    columns = [
        {"columnName": "id", "columnType": {"type": "INTEGER"}, "primaryKey": True},
        {"columnName": "name", "columnType": {"type": "VARCHAR", "length": 100}},
    ]
    created = new_org.admin.post(f"{P}/tables", json={"name": "people", "columns": columns})
    assert created.status_code == 201, created.text
    assert [c["name"] for c in created.json()["columns"]] == ["id", "name"]
    assert created.json()["columns"][0]["primary_key"] is True
    altered = new_org.admin.patch(
        f"{P}/tables/people", json={"columns": [{"columnName": "age", "columnType": {"type": "INTEGER"}}]}
    )
    assert [c["name"] for c in altered.json()["columns"]] == ["id", "name", "age"]
    assert new_org.viewer.get(f"{P}/tables/public/people").json()["name"] == "people"
    assert new_org.viewer.get(f"{P}/tables", params={"shallow": True}).json()["items"][0]["columns"] == []
    assert new_org.viewer.get(f"{P}/tables/public/people/dependencies").json() == {"items": []}
    assert new_org.admin.post(f"{P}/schemas", json={"name": "other"}).status_code == 422

    document = {
        "mapping": {"tableName": "people"},
        "fields": [{"fieldName": "id", "mapping": {"columnName": "id", "columnType": {"type": "INTEGER"}}}],
    }
    assert new_org.admin.put(f"{P}/event-types/people/mapping", json=document).status_code == 200
    scheduled = new_org.admin.post(f"{P}/scheduled-queries", json={"event_type": "people", "frequency": 24})
    assert scheduled.status_code == 201, scheduled.text
    query = scheduled.json()
    assert query["query_type"] == "default" and "people_consolidated" in query["query"]
    custom = new_org.admin.post(
        f"{P}/scheduled-queries", json={"event_type": "people", "query": "SELECT 1", "run_at": "0 3 * * *"}
    ).json()
    assert custom["query_type"] == "custom" and custom["run_at"] == "0 3 * * *"
    listed = new_org.viewer.get(f"{P}/scheduled-queries").json()["items"]
    assert [q["id"] for q in listed] == [query["id"], custom["id"]]
    run = new_org.admin.post(f"{P}/scheduled-queries/{query['id']}/run")
    assert run.status_code == 200 and run.json()["manual"] is True
    assert new_org.viewer.delete(f"{P}/scheduled-queries/{custom['id']}").status_code == 403
    assert new_org.admin.delete(f"{P}/scheduled-queries/{custom['id']}").status_code == 204
    dependents = new_org.viewer.get(f"{P}/tables/public/people/dependencies").json()["items"]
    assert len(dependents) == 1 and dependents[0].startswith("query:")
    refused = new_org.admin.delete(f"{P}/tables/public/people")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["dependents"] == dependents
    assert new_org.admin.delete(f"{P}/tables/public/people", params={"cascade": True}).status_code == 204

    emails = new_org.viewer.get(f"{P}/settings/email-notifications").json()
    assert isinstance(emails, dict) and emails
    retention = {"awsBucketName": "b", "awsAccessKeyId": "AK", "awsSecretAccessKey": "very-secret"}
    saved = new_org.admin.put(f"{P}/settings/s3-retention", json=retention).json()
    assert saved["awsSecretAccessKey"] == "**********"
    assert "very-secret" not in new_org.viewer.get(f"{P}/settings/s3-retention").text
    assert new_org.admin.delete(f"{P}/settings/s3-retention").status_code == 204
    assert new_org.viewer.get(f"{P}/settings/s3-retention").json()["awsBucketName"] is None
