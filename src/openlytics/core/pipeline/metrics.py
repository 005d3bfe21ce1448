"""Pipeline metrics: per-minute counters per node, and the metric series drawn from them.

Nodes: "pipeline" (the whole), "input:<id>", "output", "restream", "table:<schema>.<table>" (rows
loaded into that table: `loaded`; `loaded_per_table` sums them). `record` adds to the row of the
current minute (created on first use) and merges a latency histogram (bucket upper bound in ms ->
count, "inf" for the rest). `series` answers one element per requested name, in request order,
with one point per resolution bucket (epoch seconds of the bucket start) over the last `minutes`:

- counts per bucket: INCOMING_EVENTS, RESTREAMED_EVENTS, UNMAPPED_EVENTS, IGNORED_EVENTS,
  ERROR_EVENTS; EVENT_SIZE_TOTAL (bytes);
- per second over the bucket: EVENT_PROCESSING_RATE (incoming), LOADED_EVENTS_RATE (loaded);
- None when the bucket has no events: EVENT_SIZE_AVG (bytes per incoming event), LATENCY_AVG,
  LATENCY_PERCENTILE_50/95 (upper bound of the histogram bucket holding the percentile, at most
  the maximum), LATENCY_MAX (all milliseconds);
- gauges, the last value recorded in the bucket (None if none): EVENTS_IN_PIPELINE,
  EVENTS_IN_TRANSIT; the newest bucket shows the live value when `live_gauges` is set.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline import require_read
from openlytics.core.principal import Principal
from openlytics.store.db import Database
from openlytics.store.models import PipelineMinute
from openlytics.store.types import utcnow

METRIC_NAMES = (
    "EVENT_SIZE_AVG",
    "EVENT_SIZE_TOTAL",
    "EVENT_PROCESSING_RATE",
    "INCOMING_EVENTS",
    "RESTREAMED_EVENTS",
    "UNMAPPED_EVENTS",
    "IGNORED_EVENTS",
    "ERROR_EVENTS",
    "LOADED_EVENTS_RATE",
    "LATENCY_AVG",
    "LATENCY_PERCENTILE_50",
    "LATENCY_PERCENTILE_95",
    "LATENCY_MAX",
    "EVENTS_IN_PIPELINE",
    "EVENTS_IN_TRANSIT",
)
COUNTERS = ("incoming", "loaded", "errors", "unmapped", "ignored", "restreamed", "bytes_total")
BUCKETS_MS = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    3_600_000,
)
NODE_WINDOW_MINUTES = 5
MAX_POINTS = 10_000
PIPELINE = "pipeline"
TABLE_NODE_PREFIX = "table:"  # + "<schema>.<table>": rows loaded into one output table
NODE_LENGTH = 600  # pipeline_minutes.node: "table:" + schema + "." + table fits


def table_node(table: str) -> str:
    """The metrics node of an output table ("<schema>.<table>"), cut to the column's length."""
    return (TABLE_NODE_PREFIX + table)[:NODE_LENGTH]


def histogram(latencies_ms: Sequence[float]) -> dict[str, int]:
    """A latency histogram: bucket upper bound (ms, or "inf") -> count."""
    counts: dict[str, int] = {}
    for value in latencies_ms:
        index = bisect.bisect_left(BUCKETS_MS, value)
        key = str(BUCKETS_MS[index]) if index < len(BUCKETS_MS) else "inf"
        counts[key] = counts.get(key, 0) + 1
    return counts


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """The sum of two histograms."""
    merged = {k: int(v) for k, v in a.items()}
    for key, n in b.items():
        merged[key] = merged.get(key, 0) + int(n)
    return merged


def percentile(hist: dict[str, Any], fraction: float, maximum: float) -> float | None:
    """The upper bound of the bucket holding the `fraction` percentile (capped at `maximum`)."""
    total = sum(int(n) for n in hist.values())
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for key in sorted(hist, key=lambda k: math.inf if k == "inf" else float(k)):
        seen += int(hist[key])
        if seen >= rank:
            return maximum if key == "inf" else min(float(key), maximum)
    return maximum


def minute_of(moment: datetime) -> datetime:
    """The start of the minute holding `moment`."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class PipelineMetrics:
    """Minute counters of organizations' pipelines and the series drawn from them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # org_id -> (events in pipeline, events in transit) now; set by the application.
        self.live_gauges: Callable[[int], tuple[int, int]] | None = None

    def record(
        self,
        org_id: int,
        node: str,
        *,
        latencies_ms: Sequence[float] = (),
        in_pipeline: int | None = None,
        in_transit: int | None = None,
        at: datetime | None = None,
        **counters: int,
    ) -> None:
        """Add counters (incoming, loaded, errors, unmapped, ignored, restreamed, bytes_total) now."""
        if unknown := set(counters) - set(COUNTERS):
            raise InvalidInputError("counters", f"unknown counters {sorted(unknown)}")
        minute = minute_of(at or utcnow())
        values: dict[str, Any] = {
            name: getattr(PipelineMinute, name) + n for name, n in counters.items() if n
        }
        if latencies_ms:
            values["latency_count"] = PipelineMinute.latency_count + len(latencies_ms)
            values["latency_sum_ms"] = PipelineMinute.latency_sum_ms + float(sum(latencies_ms))
        gauges = {"in_pipeline": in_pipeline, "in_transit": in_transit}
        values.update({k: v for k, v in gauges.items() if v is not None})
        if not values:
            return
        key = (PipelineMinute.org_id == org_id, PipelineMinute.node == node, PipelineMinute.minute == minute)
        for attempt in range(3):
            try:
                with self.db.session() as s:
                    # The UPDATE takes the row's write lock first, so the histogram merge below is safe.
                    done = s.execute(update(PipelineMinute).where(*key).values(values))
                    if not done.rowcount:  # type: ignore[attr-defined]
                        row = PipelineMinute(org_id=org_id, node=node, minute=minute, latency_histogram={})
                        for name, n in counters.items():
                            setattr(row, name, n)
                        row.latency_count = len(latencies_ms)
                        row.latency_sum_ms = float(sum(latencies_ms))
                        row.in_pipeline = in_pipeline or 0
                        row.in_transit = in_transit or 0
                        s.add(row)
                        s.flush()
                    if latencies_ms:
                        row = s.scalars(select(PipelineMinute).where(*key)).one()
                        row.latency_histogram = merge(row.latency_histogram or {}, histogram(latencies_ms))
                        row.latency_max_ms = max(row.latency_max_ms or 0.0, float(max(latencies_ms)))
                return
            except IntegrityError:  # the minute's row was created concurrently: update it instead
                if attempt == 2:
                    raise

    def series(
        self, principal: Principal, names: Sequence[str], minutes: int, resolution_minutes: int
    ) -> list[dict[str, Any]]:
        """One `{"target", "datapoints": [[value, epoch seconds], ...]}` per name, in request order."""
        require_read(principal, "metrics")
        if unknown := [n for n in names if n not in METRIC_NAMES]:
            raise InvalidInputError(
                "metrics", f"unknown metric {unknown[0]!r}: one of {', '.join(METRIC_NAMES)}"
            )
        if not isinstance(minutes, int) or minutes < 1:
            raise InvalidInputError("from", "a positive number of minutes")
        if not isinstance(resolution_minutes, int) or resolution_minutes < 1:
            raise InvalidInputError("resolution", "a positive number of minutes")
        count = math.ceil(minutes / resolution_minutes)
        if count > MAX_POINTS:
            raise InvalidInputError("resolution", f"at most {MAX_POINTS} points per series")
        end = minute_of(utcnow()) + timedelta(minutes=1)
        step = timedelta(minutes=resolution_minutes)
        start = end - count * step
        buckets: list[list[PipelineMinute]] = [[] for _ in range(count)]
        with self.db.session() as s:
            rows = s.scalars(
                select(PipelineMinute)
                .where(
                    PipelineMinute.org_id == principal.org_id,
                    PipelineMinute.node == PIPELINE,
                    PipelineMinute.minute >= start,
                )
                .order_by(PipelineMinute.minute)
            )
            for row in rows:
                index = int((row.minute - start) / step)
                if 0 <= index < count:
                    buckets[index].append(row)
        live = self.live_gauges(principal.org_id) if self.live_gauges else None
        seconds = resolution_minutes * 60.0
        out = []
        for name in names:
            points = []
            for i, bucket in enumerate(buckets):
                value = _value(name, bucket, seconds)
                if (
                    live is not None
                    and i == count - 1
                    and name in ("EVENTS_IN_PIPELINE", "EVENTS_IN_TRANSIT")
                ):
                    value = live[0] if name == "EVENTS_IN_PIPELINE" else live[1]
                points.append([value, int((start + i * step).timestamp())])
            out.append({"target": name, "datapoints": points})
        return out

    def loaded_per_table(
        self, principal: Principal, *, since: datetime, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Rows loaded per output table between `since` and `until` (now), by table name.

        `[{"table_name": "<schema>.<table>", "count", "from_date", "to_date", "last"}]`: the
        minutes counted are those starting in [minute of `since`, `until`]; `last` is the last
        minute with loads (all ISO-8601, UTC).
        """
        require_read(principal, "metrics")
        start = minute_of(since)
        end = (until or utcnow()).astimezone(UTC)
        if until is not None and until < since:
            raise InvalidInputError("until", "not before since")
        totals: dict[str, list[Any]] = {}
        with self.db.session() as s:
            rows = s.execute(
                select(PipelineMinute.node, PipelineMinute.minute, PipelineMinute.loaded).where(
                    PipelineMinute.org_id == principal.org_id,
                    PipelineMinute.node.startswith(TABLE_NODE_PREFIX, autoescape=True),
                    PipelineMinute.minute >= start,
                    PipelineMinute.minute <= end,
                )
            )
            for node, minute, loaded in rows:
                if not loaded:
                    continue
                moment = minute if minute.tzinfo else minute.replace(tzinfo=UTC)
                entry = totals.setdefault(node[len(TABLE_NODE_PREFIX) :], [0, moment])
                entry[0] += int(loaded)
                entry[1] = max(entry[1], moment)
        return [
            {
                "table_name": name,
                "count": count,
                "from_date": since.astimezone(UTC).isoformat(),
                "to_date": end.isoformat(),
                "last": last.isoformat(),
            }
            for name, (count, last) in sorted(totals.items())
        ]

    def throughput(self, org_id: int, node: str) -> float:
        """Events per second through a node over the last few minutes."""
        rows = self._recent(org_id, node)
        return sum(r.incoming for r in rows) / (NODE_WINDOW_MINUTES * 60.0)

    def latency(self, org_id: int, node: str) -> float:
        """Mean latency (ms) of a node over the last few minutes (0 without events)."""
        rows = self._recent(org_id, node)
        count = sum(r.latency_count for r in rows)
        return sum(r.latency_sum_ms for r in rows) / count if count else 0.0

    def _recent(self, org_id: int, node: str) -> list[PipelineMinute]:
        since = minute_of(utcnow()) - timedelta(minutes=NODE_WINDOW_MINUTES - 1)
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(PipelineMinute).where(
                        PipelineMinute.org_id == org_id,
                        PipelineMinute.node == node,
                        PipelineMinute.minute >= since,
                    )
                )
            )


def _value(name: str, rows: list[PipelineMinute], seconds: float) -> float | int | None:
    def total(column: str) -> int:
        return sum(int(getattr(r, column) or 0) for r in rows)

    simple = {
        "INCOMING_EVENTS": "incoming",
        "RESTREAMED_EVENTS": "restreamed",
        "UNMAPPED_EVENTS": "unmapped",
        "IGNORED_EVENTS": "ignored",
        "ERROR_EVENTS": "errors",
        "EVENT_SIZE_TOTAL": "bytes_total",
    }
    if name in simple:
        return total(simple[name])
    if name == "EVENT_PROCESSING_RATE":
        return total("incoming") / seconds
    if name == "LOADED_EVENTS_RATE":
        return total("loaded") / seconds
    if name == "EVENT_SIZE_AVG":
        incoming = total("incoming")
        return total("bytes_total") / incoming if incoming else None
    if name in ("EVENTS_IN_PIPELINE", "EVENTS_IN_TRANSIT"):
        column = "in_pipeline" if name == "EVENTS_IN_PIPELINE" else "in_transit"
        return int(getattr(rows[-1], column)) if rows else None
    count = total("latency_count")
    if not count:
        return None
    maximum = max(float(r.latency_max_ms or 0.0) for r in rows)
    if name == "LATENCY_AVG":
        return sum(float(r.latency_sum_ms or 0.0) for r in rows) / count
    if name == "LATENCY_MAX":
        return maximum
    hist: dict[str, int] = {}
    for r in rows:
        hist = merge(hist, r.latency_histogram or {})
    return percentile(hist, 0.5 if name == "LATENCY_PERCENTILE_50" else 0.95, maximum)
