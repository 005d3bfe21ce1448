"""`get_loaded_events_per_table_summary` through the real client: counts of what loaded, per table."""

from __future__ import annotations

import datetime

from tests.dialects.alooma.conftest import Alooma
from tests.dialects.alooma.test_pipeline import event, post, rest_input


def test_loaded_events_per_table_summary_counts_what_loaded(al: Alooma) -> None:
    url = rest_input(al)
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=5)
    assert post(url, [event("orders", id=i) for i in range(3)]).status_code == 200
    assert post(url, [event("visits", page=f"/p{i}") for i in range(2)]).status_code == 200
    al.drain()
    tables = {name: al.client.get_event_type(name)["mapping"]["tableName"] for name in ("orders", "visits")}

    summary = al.client.get_loaded_events_per_table_summary(before)
    counts = {row["table_name"].rsplit(".", 1)[-1]: row["count"] for row in summary}
    assert counts == {tables["orders"]: 3, tables["visits"]: 2}
    for row in summary:
        assert set(row) == {
            "count",
            "from_date",
            "to_date",
            "instance_name",
            "last",
            "precision",
            "table_name",
        }
        assert row["instance_name"] == al.slug
        assert row["precision"] == "MINUTE"  # recent; the core counts loads per minute
        last = datetime.datetime.strptime(row["last"], "%Y-%m-%dT%H:%M:%S")
        assert before <= last <= datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    # A string `from`, `to` and `all=True` (one instance per organization: the same rows).
    later = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=1)
    again = al.client.get_loaded_events_per_table_summary(
        before.strftime("%Y-%m-%dT%H:%M:%S"), later, all_instances=True
    )
    assert {row["table_name"].rsplit(".", 1)[-1]: row["count"] for row in again} == counts

    # A period before anything loaded counts nothing.
    earlier = before - datetime.timedelta(days=2)
    old = al.client.get_loaded_events_per_table_summary(earlier, earlier + datetime.timedelta(hours=1))
    assert sum(row["count"] for row in old) == 0


def test_loaded_events_summary_refuses_a_missing_or_bad_period(al: Alooma) -> None:
    missing = al.raw("GET", "events/loaded-events-per-table/summary")
    assert missing.status_code == 400 and "from" in missing.json()["message"]
    bad = al.raw("GET", "events/loaded-events-per-table/summary?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.json()["message"]
    backwards = al.raw(
        "GET", "events/loaded-events-per-table/summary?from=2026-01-02T00:00:00&to=2026-01-01T00:00:00"
    )
    assert backwards.status_code == 400 and "to" in backwards.json()["message"]
