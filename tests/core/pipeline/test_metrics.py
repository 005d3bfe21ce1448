"""Metric series: shapes, request order, values matching what the processor counted (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline.metrics import METRIC_NAMES, histogram, percentile
from openlytics.core.principal import Principal
from openlytics.store.types import utcnow
from tests.core.pipeline.conftest import Result, make_engine


def now_event(event_type: str, **fields: Any) -> dict[str, Any]:
    received = (utcnow() - timedelta(milliseconds=250)).isoformat()
    return {"_metadata": {"event_type": event_type, "received_at": received}, **fields}


def last(series: dict[str, Any]) -> Any:
    return series["datapoints"][-1][0]


def test_series_follow_the_request_order_and_match_the_counts(any_app: Openlytics, tmp_path: Path) -> None:
    any_app.pipeline_worker.stop()
    engine = make_engine(any_app, tmp_path / "out.duckdb")
    engine.transform = lambda org, events: [Result(None if e.get("drop") else e) for e in events]
    engine.processor.process_events(engine.org_id, [now_event("m", x=1)])  # maps x as BIGINT
    events = [now_event("m", x=i) for i in range(6)] + [now_event("m", x="bad"), now_event("m", drop=True)]
    engine.processor.process_events(engine.org_id, events)
    names = list(reversed(METRIC_NAMES))
    series = any_app.pipeline_metrics.series(engine.principal, names, 10, 1)
    assert [s["target"] for s in series] == names
    assert all(len(s["datapoints"]) == 10 for s in series)
    stamps = [p[1] for p in series[0]["datapoints"]]
    assert all(b - a == 60 for a, b in itertools.pairwise(stamps))
    # one bucket of ten minutes holds both batches whatever the minute boundaries
    whole = any_app.pipeline_metrics.series(engine.principal, names, 10, 10)
    assert all(len(s["datapoints"]) == 1 for s in whole)
    values = {s["target"]: last(s) for s in whole}
    assert values["INCOMING_EVENTS"] == 9
    assert values["ERROR_EVENTS"] == 1 and values["IGNORED_EVENTS"] == 1 and values["UNMAPPED_EVENTS"] == 0
    assert values["LOADED_EVENTS_RATE"] == pytest.approx(7 / 600)
    assert values["EVENT_PROCESSING_RATE"] == pytest.approx(9 / 600)
    assert values["EVENTS_IN_TRANSIT"] == 1 and values["EVENTS_IN_PIPELINE"] == 0
    assert 200 <= values["LATENCY_AVG"] <= values["LATENCY_MAX"] < 60_000
    assert values["LATENCY_PERCENTILE_50"] <= values["LATENCY_PERCENTILE_95"] <= values["LATENCY_MAX"]
    assert values["EVENT_SIZE_TOTAL"] > 0
    assert values["EVENT_SIZE_AVG"] == pytest.approx(values["EVENT_SIZE_TOTAL"] / 9)
    # earlier buckets: counters 0, averages and gauges None
    first = {s["target"]: s["datapoints"][0][0] for s in series}
    assert first["INCOMING_EVENTS"] == 0 and first["LATENCY_AVG"] is None
    coarse = any_app.pipeline_metrics.series(engine.principal, ["INCOMING_EVENTS"], 60, 15)
    assert len(coarse[0]["datapoints"]) == 4 and sum(p[0] for p in coarse[0]["datapoints"]) == 9
    assert any_app.pipeline_metrics.throughput(engine.principal.org_id, "pipeline") == pytest.approx(9 / 300)
    assert any_app.pipeline_metrics.latency(engine.principal.org_id, "output") > 0


def test_unknown_metrics_and_bad_windows_are_rejected(app: Openlytics, system: Principal) -> None:
    with pytest.raises(InvalidInputError):
        app.pipeline_metrics.series(system, ["INCOMING_EVENTS", "NOPE"], 10, 1)
    with pytest.raises(InvalidInputError):
        app.pipeline_metrics.series(system, ["INCOMING_EVENTS"], 0, 1)
    assert app.pipeline_metrics.series(system, [], 10, 1) == []


def test_histogram_percentiles() -> None:
    hist = histogram([3, 4, 40, 45, 48, 900, 70_000_000])
    assert hist == {"5": 2, "50": 3, "1000": 1, "inf": 1}
    assert percentile(hist, 0.5, 70_000_000) == 50
    assert percentile(hist, 0.95, 70_000_000) == 70_000_000
    assert percentile({}, 0.5, 0) is None


def test_loaded_rows_per_table(any_app: Openlytics, tmp_path: Path) -> None:
    any_app.pipeline_worker.stop()
    engine = make_engine(any_app, tmp_path / "out.duckdb")
    since = utcnow() - timedelta(minutes=1)
    engine.processor.process_events(engine.org_id, [now_event("views", x=i) for i in range(3)])
    engine.processor.process_events(
        engine.org_id, [now_event("clicks", x=1), now_event("views", x=4), now_event("views", x="bad")]
    )
    summary = any_app.pipeline_metrics.loaded_per_table(engine.principal, since=since)
    assert [(t["table_name"], t["count"]) for t in summary] == [("main.clicks", 1), ("main.views", 4)]
    for table in summary:
        assert table["from_date"] == since.isoformat()
        last = datetime.fromisoformat(table["last"])
        assert since - timedelta(minutes=1) <= last <= utcnow()
        assert datetime.fromisoformat(table["to_date"]) >= last
    assert (
        any_app.pipeline_metrics.loaded_per_table(engine.principal, since=utcnow() + timedelta(minutes=2))
        == []
    )
    with pytest.raises(InvalidInputError):
        any_app.pipeline_metrics.loaded_per_table(
            engine.principal, since=since, until=since - timedelta(hours=1)
        )

    # Long table names are counted under their whole name (the node column is wide enough).
    long_type = "page_views_of_the_marketing_site_" * 4
    engine.processor.process_events(engine.org_id, [now_event(long_type, x=1)])
    names = [
        t["table_name"] for t in any_app.pipeline_metrics.loaded_per_table(engine.principal, since=since)
    ]
    assert any(
        len(name) > 100 and name.startswith("main.page_views_of_the_marketing_site") for name in names
    ), names
