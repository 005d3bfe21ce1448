"""End to end through the real alooma client: webhook -> Code Engine -> mapper -> warehouse.

Events are POSTed to a REST input's webhook, the worker is drained, and what the client shows
(event types, tables, samples, metrics, the restream queue) is checked against what loaded.
"""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest
import requests

from tests.dialects.alooma.conftest import Alooma

RAISES_ON_BAD = (
    "def transform(event):\n"
    "    if event.get('bad'):\n"
    "        raise ValueError('bad event')\n"
    "    return event\n"
)


def rest_input(al: Alooma, name: str = "web") -> str:
    """Create a REST input through the client; its webhook URL."""
    input_id = al.client.create_input({"name": name, "type": "REST", "configuration": {}})
    (created,) = al.client.get_inputs(input_id=input_id)
    token = created["configuration"]["token"]
    assert created["configuration"]["url"].endswith(f"/alooma/inputs/rest/{token}")
    return f"{al.base}/inputs/rest/{token}"


def post(url: str, events: Any) -> requests.Response:
    return requests.post(url, json=events, timeout=60)


def event(event_type: str, **fields: Any) -> dict[str, Any]:
    return {"_metadata": {"event_type": event_type}, **fields}


def test_webhook_events_are_typed_mapped_loaded_and_measured(al: Alooma) -> None:
    url = rest_input(al)
    answer = post(url, [event("signups", id=i, plan="pro" if i % 2 else "free") for i in range(3)])
    assert answer.status_code == 200 and answer.json() == {"received": 3}
    al.drain()

    names = [t["name"] for t in al.client.get_event_types()]
    assert names == ["signups"]
    signups = al.client.get_event_type("signups")
    assert signups["state"] == "MAPPED" and signups["origInputLabel"] == "web"
    assert {"id", "plan"} <= {f["fieldName"] for f in signups["fields"]}
    mapping = al.client.get_mapping("signups")
    assert "stats" not in mapping and mapping["mapping"]["tableName"] == signups["mapping"]["tableName"]

    table = signups["mapping"]["tableName"]
    assert table in {t["tableName"] for t in al.client.get_tables()}
    rows = al.sql(f"SELECT id, plan FROM {table} ORDER BY id")
    assert [(r["id"], r["plan"]) for r in rows] == [(0, "free"), (1, "pro"), (2, "free")]

    assert al.client.get_incoming_events_count(60) == 3
    unmapped, ignored, errors, loaded = al.client.get_outputs_metrics(60)
    assert (unmapped, ignored, errors) == (0, 0, 0) and loaded > 0
    assert al.client.get_average_event_size(60) > 0
    assert al.client.get_max_latency(60) >= 0
    assert al.client.get_incoming_queue_metric(60) == 0
    series = al.client.get_metrics_by_names(["INCOMING_EVENTS", "LOADED_EVENTS_RATE"], 10)
    assert [s["target"] for s in series] == ["INCOMING_EVENTS", "LOADED_EVENTS_RATE"]
    assert sum(v for v, _ in series[0]["datapoints"] if v) == 3
    assert al.client.get_throughput_by_name("web")[0] > 0

    assert al.client.get_samples_stats() == {"signups": {"VALID": 3}}
    samples = al.client.get_samples(event_type="signups")
    assert len(samples) == 3 and {s["sample"]["id"] for s in samples} == {0, 1, 2}
    assert len(al.client.get_samples(error_codes=["VALID"])) == 3  # the `samples&status=` path
    assert al.client.get_samples(error_codes=["TRANSFORM_ERROR"]) == []
    assert al.client.get_samples_status_codes()["VALID"]
    tested = al.client.test_transform_all_samples(event_type="signups")
    assert len(tested) == 3 and all(s["result"]["result"] == s["sample"] for s in tested)

    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert al.client.get_used_credits() == [{"date": today, "instance_name": al.slug, "value": 1}]
    assert al.client.get_company_credits()["used_credits"] == 1


def test_a_failing_transform_fills_the_restream_queue_and_a_fix_loads_each_event_once(al: Alooma) -> None:
    url = rest_input(al)
    al.client.set_code_engine_code({"main": RAISES_ON_BAD})
    post(url, [event("orders", n=1), event("orders", n=2, bad=True), event("orders", n=3, bad=True)])
    al.drain()
    assert al.client.get_restream_queue_size() == 2
    assert al.client.get_restream_stats() == {"number_of_events": 2}
    assert al.client.get_restream_queue_metrics(60) == 2
    assert al.client.get_samples_stats()["orders"] == {"VALID": 1, "TRANSFORM_ERROR": 2}
    failed = al.client.get_samples(event_type="orders", error_codes=["TRANSFORM_ERROR"])
    assert {s["sample"]["n"] for s in failed} == {2, 3}
    assert al.client.get_outputs_metrics(60)[2] == 2  # ERROR_EVENTS

    al.client.set_transform_to_default()
    al.client.start_restream()
    al.drain()
    assert al.client.get_restream_queue_size() == 0
    table = al.client.get_event_type("orders")["mapping"]["tableName"]
    rows = al.sql(f"SELECT n FROM {table} ORDER BY n")
    assert [r["n"] for r in rows] == [1, 2, 3]


def test_strict_mode_sends_new_types_to_restream(al: Alooma) -> None:
    url = rest_input(al)
    assert json.loads(al.client.get_mapping_mode()) == "AUTO_MAP"
    assert al.client.set_mapping_mode("STRICT").status_code == 200
    assert json.loads(al.client.get_mapping_mode()) == "STRICT"
    post(url, [event("clicks", x=1), event("clicks", x=2)])
    al.drain()
    assert al.client.get_restream_queue_size() == 2
    clicks = al.client.get_event_type("clicks")
    assert clicks["state"] == "UNMAPPED" and clicks["mappingMode"] == "STRICT"
    assert "clicks" not in {t["tableName"] for t in al.client.get_tables()}

    # Map it as the client's helpers do, then restream: both events load.
    mapping = al.client.get_mapping("clicks")
    field = al.client.find_field_name(mapping, "x")
    al.client.set_mapping_for_field(field, "x", "BIGINT", False)
    for name in ("_metadata",):
        al.client.discard_field(mapping, name)
    al.client.map_field(mapping, "y", "y", "VARCHAR", False, length=100)  # a field not seen yet
    assert al.client.find_field_name(mapping, "y")["mapping"]["columnType"]["length"] == 100
    al.client.unmap_field(mapping, "y")
    al.client.add_field(mapping, "z")
    al.client.unmap_field(mapping, "z")
    with pytest.raises(Exception, match="Could not find field path"):
        al.client.find_field_name(mapping, "z")
    mapping["mapping"]["tableName"] = "clicks"
    assert al.client.set_mapping(mapping, "clicks").status_code == 200
    assert al.client.get_event_type("clicks")["state"] == "MAPPED"
    al.client.start_restream()
    al.drain()
    assert al.client.get_restream_queue_size() == 0
    assert [r["x"] for r in al.sql("SELECT x FROM clicks ORDER BY x")] == [1, 2]

    al.client.set_mapping_mode("STRICT")
    post(url, [event("views", v=1)])
    al.drain()
    assert al.client.get_restream_queue_size() == 1
    al.client.purge_restream_queue()
    assert al.client.get_restream_queue_size() == 0
    post(url, [event("views", v=2)])
    al.drain()
    al.client.clean_restream_queue()
    assert al.client.get_restream_queue_size() == 0
    assert al.client.get_event_type("views")["state"] == "UNMAPPED"

    al.client.set_mapping_mode("FLEXIBLE")
    al.client.discard_event_type("clicks")
    assert al.client.get_event_type("clicks")["mapping"]["isDiscarded"] is True
    al.client.delete_event_type("clicks")
    assert [t["name"] for t in al.client.get_event_types()] == ["views"]


def test_event_type_names_with_slashes_and_spaces(al: Alooma) -> None:
    url = rest_input(al)
    post(url, event("shop/checkout done", total=9.5))
    al.drain()
    found = al.client.get_event_type("shop/checkout done")
    assert found["name"] == "shop/checkout done" and found["state"] == "MAPPED"
    al.client.delete_all_event_types()
    assert al.client.get_event_types() == []


def test_webhook_errors(al: Alooma) -> None:
    url = rest_input(al)
    bad = requests.post(url, data=b"{not json", timeout=30)
    assert bad.status_code == 400 and bad.json()["message"]
    unknown = requests.post(f"{al.base}/inputs/rest/not-a-token", json={"a": 1}, timeout=30)
    assert unknown.status_code == 401
    (web,) = al.client.get_inputs(name="web")
    al.client.pause_input_by_id(web["id"])
    assert requests.post(url, json={"a": 1}, timeout=30).status_code == 409
    al.client.resume_input_by_id(web["id"])
    assert requests.post(url, json={"a": 1}, timeout=30).json() == {"received": 1}


def test_notifications_scheduled_default_query_and_clean_system(al: Alooma) -> None:
    url = rest_input(al)
    post(url, [event("visits", id=1), event("visits", id=2)])
    al.drain()
    since = int(time.time()) - 3600
    published = al.client.publish_notification("warning", "disk almost full", {"percent": 91})
    assert published.status_code == 200
    messages = al.client.get_notifications(since)["messages"]
    mine = [m for m in messages if m["description"] == "disk almost full"]
    assert mine and mine[0]["severity"] == "warning"
    assert all({"id", "type", "timestamp", "message", "severity"} <= set(m) for m in messages)
    al.client.publish_notification("error", "output down", {})
    assert "\n\t" in al.client.parse_notifications_errors(al.client.get_notifications(since))

    default = al.client.schedule_default_query({"event_type": "visits", "frequency": 24}, {"since": "x"})
    assert default["configuration"]["query_type"] == "default"
    assert default["configuration"]["custom_variables"] == {"since": "x"}
    assert al.client.get_query_by_event_type("visits")["id"] == default["id"]
    al.client.remove_scheduled_query(default["id"])

    al.client.set_code_engine_code({"main": RAISES_ON_BAD})
    post(url, event("visits", id=3, bad=True))
    al.drain()
    assert al.client.get_restream_queue_size() == 1
    al.client.set_s3_retention("bucket", "key", "secret")
    al.client.clean_system()
    assert list(al.client.get_inputs()) == []
    assert al.client.get_event_types() == []
    assert al.client.get_restream_queue_size() == 0
    assert al.client.get_code_engine_module() == "def transform(event):\n\treturn event"
    assert al.client.get_settings()["s3-retention"]["awsBucketName"] is None
