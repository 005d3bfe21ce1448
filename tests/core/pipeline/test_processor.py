"""The processor over a real app (SQLite metadata) and a DuckDB sink: every status of docs/pipeline.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from tests.core.pipeline.conftest import Engine, Result, drain, event


def mapping_of(engine: Engine, name: str) -> dict[str, Any]:
    return engine.app.event_types.to_document(engine.app.event_types.get(engine.principal, name))


def test_auto_map_creates_the_table_adds_columns_and_loads(engine: Engine) -> None:
    outcome = engine.processor.process_events(
        engine.org_id,
        [event("Page View", url="/a", user={"id": 1}), event("Page View", url="/b", user={"id": 2})],
    )
    assert outcome.counts == {"VALID": 2} and outcome.loaded == {"main.page_view": 2}
    assert outcome.latency_count == 2 and outcome.latency_max_ms > 0
    columns = engine.sink.table_columns("main", "page_view")
    assert columns is not None and {"url", "user_id", "_metadata_event_type", "_metadata_received_at"} <= set(
        columns
    )
    later = engine.processor.process_events(engine.org_id, [event("Page View", url="/c", referrer="x")])
    assert later.counts == {"VALID": 1}
    assert "referrer" in (engine.sink.table_columns("main", "page_view") or {})
    assert engine.sink.count("page_view") == 3


def test_strict_sends_new_types_and_unmapped_fields_to_restream(engine: Engine) -> None:
    app = engine.app
    app.event_types.set_default_mode(engine.principal, "STRICT")
    first = engine.processor.process_events(engine.org_id, [event("signup", email="a@b", age=1)] * 3)
    assert first.counts == {"NEW_TYPE": 1, "NO_MAPPING": 2}
    second = engine.processor.process_events(engine.org_id, [event("signup", email="c@d")])
    assert second.counts == {"NO_MAPPING": 1}
    assert app.restream.size(engine.principal)[0] == 4
    app.event_types.set_mapping(
        engine.principal,
        "signup",
        {
            "mapping": {"tableName": "signups", "isDiscarded": False},
            "fields": [
                {"fieldName": "email", "mapping": {"columnName": "email", "columnType": {"type": "VARCHAR"}}},
                {"fieldName": "_metadata", "mapping": None, "fields": []},
            ],
        },
    )
    third = engine.processor.process_events(
        engine.org_id, [event("signup", email="e@f"), event("signup", email="g", age=2)]
    )
    assert third.counts == {"VALID": 1, "UNMAPPED_FIELDS": 1}
    assert engine.sink.rows("signups") == [("e@f",)]
    # the mapping is fixed: restream sends the waiting events through again, "age" now discarded
    doc = mapping_of(engine, "signup")
    for f in doc["fields"]:
        if f["fieldName"] == "age":
            f["mapping"] = {"isDiscarded": True}
    app.event_types.set_mapping(engine.principal, "signup", doc)
    assert app.restream.restream(engine.principal) == 5
    drain(engine)
    assert engine.sink.count("signups") == 6
    assert app.restream.size(engine.principal) == (0, 0)


def test_flexible_leaves_unmapped_fields_out_and_loads(engine: Engine) -> None:
    app = engine.app
    app.event_types.set_default_mode(engine.principal, "FLEXIBLE")
    assert engine.processor.process_events(engine.org_id, [event("buy", sku="x", qty=2)]).counts == {
        "NEW_TYPE": 1
    }
    app.event_types.set_mapping(
        engine.principal,
        "buy",
        {
            "mapping": {"tableName": "purchases"},
            "fields": [
                {
                    "fieldName": "sku",
                    "mapping": {"columnName": "sku", "columnType": {"type": "VARCHAR", "length": 10}},
                }
            ],
        },
    )
    outcome = engine.processor.process_events(engine.org_id, [event("buy", sku="y", qty=3, brand_new=True)])
    assert outcome.counts == {"VALID": 1}
    assert engine.sink.rows("purchases") == [("y",)]


def test_a_type_mismatch_restreams_that_event_and_loads_the_others(engine: Engine) -> None:
    engine.processor.process_events(engine.org_id, [event("scores", points=1)])
    outcome = engine.processor.process_events(
        engine.org_id,
        [event("scores", points=2), event("scores", points="lots"), event("scores", points="3")],
    )
    assert outcome.counts == {"VALID": 2, "TYPE_MISMATCH": 1}
    assert engine.sink.values("scores", "points") == [1, 2, 3]
    queued = engine.app.restream.size(engine.principal)
    assert queued[0] == 1 and queued[1] > 0
    [sample] = engine.app.pipeline_samples.samples(engine.principal, statuses=["TYPE_MISMATCH"])
    assert json.loads(sample.event)["points"] == "lots" and "points" in (sample.error or "")


def failing(org_id: int, events: list[dict[str, Any]]) -> list[Result]:
    return [
        Result(None, "KeyError: 'price'") if "price" not in e else Result({**e, "seen": True}) for e in events
    ]


def test_transform_errors_restream_and_a_fixed_transform_loads_them_exactly_once(engine: Engine) -> None:
    events = [event("sale", id=i, **({"price": i} if i % 2 else {})) for i in range(10)]
    engine.transform = failing
    first = engine.processor.process_events(engine.org_id, events)
    assert first.counts == {"VALID": 5, "TRANSFORM_ERROR": 5}
    assert engine.app.restream.size(engine.principal)[0] == 5

    def fixed(org_id: int, events: list[dict[str, Any]]) -> list[Result]:
        return [Result({**e, "price": e.get("price", 0), "seen": True}) for e in events]

    engine.transform = fixed
    assert engine.app.restream.restream(engine.principal) == 5
    assert engine.app.restream.restream(engine.principal) == 0  # nothing twice
    drain(engine)
    assert engine.sink.values("sale", "id") == list(range(10))
    assert engine.sink.values("sale", "price") == [0, 0, 0, 0, 0, 1, 3, 5, 7, 9]
    stats = engine.app.pipeline_samples.stats(engine.principal)
    assert stats == {"sale": {"TRANSFORM_ERROR": 5, "VALID": 10}}


def test_a_transform_that_fails_as_a_whole_fails_every_event(engine: Engine) -> None:
    def broken(org_id: int, events: list[dict[str, Any]]) -> list[Result]:
        raise RuntimeError("sandbox unavailable")

    engine.transform = broken
    outcome = engine.processor.process_events(engine.org_id, [event("a", x=1), event("b", x=2)])
    assert outcome.counts == {"TRANSFORM_ERROR": 2}
    assert engine.app.restream.size(engine.principal)[0] == 2


def test_a_load_failure_restreams_the_rows_and_loads_nothing(engine: Engine) -> None:
    engine.processor.process_events(engine.org_id, [event("t", x=1)])
    engine.sink.fail_loads = "disk full"
    outcome = engine.processor.process_events(engine.org_id, [event("t", x=2), event("t", x=3)])
    assert outcome.counts == {"LOAD_ERROR": 2} and outcome.loaded == {}
    assert engine.sink.count("t") == 1
    engine.sink.fail_loads = None
    engine.app.restream.restream(engine.principal)
    drain(engine)
    assert engine.sink.count("t") == 3
    notes = engine.app.pipeline_notifications.since(engine.principal, _epoch())
    assert any(n.type == "LOAD_ERROR" and n.severity == "error" for n in notes)


def _epoch() -> datetime:
    return datetime(2000, 1, 1, tzinfo=UTC)


def test_drop_discarded_and_invalid_events_are_counted_not_restreamed(engine: Engine) -> None:
    engine.app.event_types.discard(engine.principal, "spam")

    def drop_tests(org_id: int, events: list[dict[str, Any]]) -> list[Result]:
        return [Result(None if e.get("test") else e) for e in events]

    engine.transform = drop_tests
    outcome = engine.processor.process_events(
        engine.org_id,
        [event("spam", x=1), event("real", test=True), "not an object", event("real", x=2)],  # type: ignore[list-item]
    )
    assert outcome.counts == {"DISCARDED": 1, "DROP": 1, "INVALID_JSON": 1, "VALID": 1}
    assert engine.app.restream.size(engine.principal)[0] == 0
    stats = engine.app.pipeline_samples.stats(engine.principal)
    assert stats["spam"] == {"DISCARDED": 1} and stats["real"] == {"DROP": 1, "VALID": 1}
    assert stats["default"] == {"INVALID_JSON": 1}


def test_samples_keep_the_newest_ten_per_type_and_status(engine: Engine) -> None:
    for batch in range(3):
        engine.processor.process_events(engine.org_id, [event("clicks", n=batch * 8 + i) for i in range(8)])
    samples = engine.app.pipeline_samples.samples(engine.principal, event_type="clicks", limit=50)
    assert [json.loads(s.event)["n"] for s in samples] == list(range(23, 13, -1))
    assert all(s.status == "VALID" and s.event_type == "clicks" for s in samples)
    assert engine.app.pipeline_samples.stats(engine.principal) == {"clicks": {"VALID": 24}}
    engine.app.event_types.delete(engine.principal, "clicks")
    assert engine.app.pipeline_samples.stats(engine.principal) == {}


def test_the_app_worker_loads_spooled_events_into_the_warehouse(app: Openlytics, system: Principal) -> None:
    spooled = [event("Signup Done", n=i, plan={"name": "pro"}) for i in range(30)]
    app.pipeline_spool.append(system.org_id, spooled[:20])
    app.pipeline_spool.append(system.org_id, spooled[20:])
    app.pipeline_worker.drain(system.org_id, timeout=60)
    assert app.pipeline_samples.stats(system) == {"Signup Done": {"VALID": 30}}
    outcome = app.jobs.run_adhoc(system, "SELECT count(*) AS n, sum(n) AS total FROM signup_done", wait=20)
    assert outcome.result is not None, outcome.job and outcome.job.error
    table = app.results.open(outcome.result.path).read_all()
    assert table.to_pylist() == [{"n": 30, "total": sum(range(30))}]
