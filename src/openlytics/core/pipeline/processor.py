"""The pipeline processor: one micro-batch of an organization's events, from transform to load.

For each event (docs/pipeline.md, "The path of an event" and "Engine"):

1. not a JSON object -> INVALID_JSON; the transform: an error -> TRANSFORM_ERROR, None -> DROP
   (a transform that fails as a whole fails every event of the batch);
2. its event type: `_metadata.event_type` of the transformed event, else `_metadata.input_label`,
   else "default";
3. `EventTypeService.observe` merges its fields (AUTO_MAP maps new ones);
4. discarded type -> DISCARDED; a type without table -> NEW_TYPE for the first event of a type
   created by this batch, else NO_MAPPING; mapped -> `mapping.map_events` (TYPE_MISMATCH,
   UNMAPPED_FIELDS in STRICT); no mapped column -> NO_MAPPED_FIELDS;
5. the sink creates the table or adds the missing mapped columns and loads the rows (all or none):
   VALID, or LOAD_ERROR for every row of that table. Exactly once: a sink that can (`MarkedSink`:
   the warehouse) records `<spool file>:<event type>` marks in the load's own transaction, and
   rows of files already marked for that table are not loaded again — a batch that comes back
   after its process died between a load and the ack (docs/scale-out.md) loads only the rest;
6. restreamed statuses go to the restream queue with the event as it entered; then samples,
   status counts, minute metrics and one notification per (event type, failing status).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
from sqlalchemy import select

from openlytics.core.pipeline.event_types import METADATA_FIELD, EventTypeService
from openlytics.core.pipeline.mapping import columns_of, map_events
from openlytics.core.pipeline.metrics import PIPELINE, PipelineMetrics, table_node
from openlytics.core.pipeline.notifications import PipelineNotifications
from openlytics.core.pipeline.restream import RestreamItem, RestreamQueue, received_at
from openlytics.core.pipeline.samples import KEEP as SAMPLES_KEPT
from openlytics.core.pipeline.samples import RESTREAMED, Sample, SampleStore
from openlytics.core.pipeline.spool import IncomingSpool, SpooledBatch, dumps, loads
from openlytics.store.db import Database
from openlytics.store.models import PipelineInput
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_EVENT_TYPE = "default"
UNMAPPED = frozenset({"NO_MAPPING", "NEW_TYPE", "UNMAPPED_FIELDS", "NO_MAPPED_FIELDS"})
IGNORED = frozenset({"DROP", "DISCARDED"})
ERRORS = frozenset({"TRANSFORM_ERROR", "TYPE_MISMATCH", "LOAD_ERROR", "INVALID_JSON"})
_UNPARSED: Any = object()


class TransformOutcome(Protocol):
    """What a transform made of one event (the Code Engine's TransformResult)."""

    @property
    def event(self) -> dict[str, Any] | None: ...

    @property
    def error(self) -> str | None: ...


class TableSink(Protocol):
    """The part of an output's Sink the processor uses."""

    def table_columns(self, schema: str | None, table: str) -> dict[str, str] | None: ...

    def create_table(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None: ...

    def add_columns(self, schema: str | None, table: str, columns: list[tuple[str, str]]) -> None: ...

    def load(self, schema: str | None, table: str, data: pa.Table) -> int: ...


@runtime_checkable
class MarkedSink(TableSink, Protocol):
    """A sink that records marks with a load, atomically (exactly-once loads of spool files)."""

    def loaded_marks(self, schema: str | None, table: str, names: Sequence[str]) -> set[str]: ...

    def load_marked(self, schema: str | None, table: str, data: pa.Table, names: Sequence[str]) -> int: ...


# (organization, events, the same events as lines of JSON) -> one outcome per event, in order
Transform = Callable[[int, list[dict[str, Any]], list[bytes]], Sequence[TransformOutcome]]


@dataclass
class BatchOutcome:
    """What became of a batch: events per status, rows loaded per table, latency (ms)."""

    counts: Counter[str] = field(default_factory=Counter)
    loaded: dict[str, int] = field(default_factory=dict)
    latency_count: int = 0
    latency_avg_ms: float = 0.0
    latency_max_ms: float = 0.0

    @property
    def total(self) -> int:
        """Events accounted for."""
        return sum(self.counts.values())


@dataclass(slots=True)
class _Event:
    original: Any
    raw: bytes  # the event as it entered, serialized before the transform could change it
    event: Any = None
    event_type: str = DEFAULT_EVENT_TYPE
    status: str | None = None
    error: str | None = None
    input_id: int | None = None
    received: Any = None  # `_metadata.received_at` as it entered
    file: str | None = None  # the spool file it came from

    @classmethod
    def entered(cls, original: Any, raw: bytes) -> _Event:
        """The event as it entered: its input, type and arrival read from `_metadata` once."""
        metadata = _metadata(original)
        if not metadata:
            return cls(original, raw)
        return cls(
            original,
            raw,
            event_type=_type_in(metadata),
            input_id=_id_in(metadata),
            received=metadata.get("received_at"),
        )


@dataclass
class PreparedBatch:
    """Events of a batch after the transform, waiting for `complete_events`."""

    org_id: int
    items: list[_Event]


class PipelineProcessor:
    """Runs micro-batches of events through transform, mapping and load (module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        spool: IncomingSpool,
        event_types: EventTypeService,
        transform: Transform,
        sink_for: Callable[[int], TableSink],
        default_schema: Callable[[int], str | None],
        restream: RestreamQueue,
        samples: SampleStore,
        metrics: PipelineMetrics,
        notifications: PipelineNotifications,
    ) -> None:
        self.db = db
        self.spool = spool
        self.event_types = event_types
        self.transform = transform
        self.sink_for = sink_for
        self.default_schema = default_schema
        self.restream = restream
        self.samples = samples
        self.metrics = metrics
        self.notifications = notifications

    def process_batch(self, batch: SpooledBatch) -> BatchOutcome:
        """Process a claimed batch and ack it; released back to the spool if processing fails."""
        return self.complete(batch, self.prepare(batch))

    def prepare(self, batch: SpooledBatch) -> PreparedBatch:
        """The first half of `process_batch`: the transform (released back if it raises).

        It reads no state a batch before it changes (event types, mappings, tables), so the
        worker may prepare a batch while the one before it of the same organization completes.
        """
        try:
            prepared = self.prepare_events(batch.org_id, batch.events, batch.lines or None)
            if sum(batch.file_events) == len(prepared.items):
                for item, name in zip(prepared.items, batch.file_of_events(), strict=True):
                    item.file = name
            return prepared
        except BaseException:
            self.spool.release(batch)
            raise

    def complete(self, batch: SpooledBatch, prepared: PreparedBatch) -> BatchOutcome:
        """The second half of `process_batch`: types, mapping, load, bookkeeping; then the ack."""
        try:
            outcome = self.complete_events(prepared)
        except BaseException:
            self.spool.release(batch)
            raise
        self.spool.ack(batch)
        return outcome

    def process_events(self, org_id: int, events: Sequence[Any]) -> BatchOutcome:
        """Run events through the pipeline; every event ends with exactly one status."""
        return self.complete_events(self.prepare_events(org_id, events))

    def prepare_events(
        self, org_id: int, events: Sequence[Any], encoded: Sequence[bytes] | None = None
    ) -> PreparedBatch:
        """Check the events' inputs and run the transform; `encoded`: the events as JSON lines
        (serialized here when not given)."""
        if encoded is None or len(encoded) != len(events):
            encoded = [dumps(e) for e in events]
        items = [_Event.entered(e, raw) for e, raw in zip(events, encoded, strict=True)]
        self._check_inputs(org_id, items)
        self._transform(org_id, items)
        return PreparedBatch(org_id, items)

    def complete_events(self, prepared: PreparedBatch) -> BatchOutcome:
        """Event types, mapping, load and bookkeeping of a prepared batch."""
        org_id, items = prepared.org_id, prepared.items
        outcome = BatchOutcome()
        latencies: list[float] = []
        groups: dict[str, list[_Event]] = {}
        for item in items:
            if item.status is None:
                groups.setdefault(item.event_type, []).append(item)
        for name, group in groups.items():
            self._process_type(org_id, name, group, outcome, latencies)
        self._record(org_id, items, outcome, latencies)
        return outcome

    # ----- steps -------------------------------------------------------------------------------
    def _check_inputs(self, org_id: int, items: list[_Event]) -> None:
        """Forget input ids that name no input of the organization (deleted since)."""
        wanted = {item.input_id for item in items if item.input_id is not None}
        if not wanted:
            return
        with self.db.session() as s:
            found = set(
                s.scalars(
                    select(PipelineInput.id).where(
                        PipelineInput.org_id == org_id, PipelineInput.id.in_(wanted)
                    )
                )
            )
        for item in items:
            if item.input_id is not None and item.input_id not in found:
                item.input_id = None

    def _transform(self, org_id: int, items: list[_Event]) -> None:
        valid = [item for item in items if isinstance(item.original, dict)]
        for item in items:
            if not isinstance(item.original, dict):
                item.status, item.error = "INVALID_JSON", "not a JSON object"
        if not valid:
            return
        try:
            results = list(
                self.transform(org_id, [item.original for item in valid], [item.raw for item in valid])
            )
            if len(results) != len(valid):
                raise RuntimeError(f"the transform returned {len(results)} results for {len(valid)} events")
        except Exception as exc:  # noqa: BLE001 - a broken transform fails its events, never the batch
            for item in valid:
                item.status, item.error = "TRANSFORM_ERROR", f"{type(exc).__name__}: {exc}"
            return
        for item, result in zip(valid, results, strict=True):
            if result.error is not None:
                item.status, item.error = "TRANSFORM_ERROR", result.error
            elif result.event is None:
                item.status = "DROP"
            elif not isinstance(result.event, dict):
                item.status, item.error = "TRANSFORM_ERROR", "the transform did not return a dict"
            else:
                item.event = result.event
                item.event_type = _type_of(result.event)

    def _process_type(
        self, org_id: int, name: str, group: list[_Event], outcome: BatchOutcome, latencies: list[float]
    ) -> None:
        existed = self.event_types.find(org_id, name) is not None
        event_type = self.event_types.observe(
            org_id, name, [item.event for item in group], input_id=group[0].input_id
        )
        if event_type.is_discarded:
            _set(group, "DISCARDED")
            return
        if not event_type.table_name:
            _set(group, "NO_MAPPING", f"event type {name} is not mapped")
            if not existed:
                group[0].status = "NEW_TYPE"
            return
        if not columns_of(event_type.fields or []):
            _set(group, "NO_MAPPED_FIELDS", f"event type {name} maps no field")
            return
        mode = self.event_types.effective_mode(event_type)
        rows = map_events(event_type.fields or [], [item.event for item in group], mode)
        for reject in rows.rejects:
            group[reject.index].status, group[reject.index].error = reject.status, reject.error
        loading = [group[i] for i in rows.indices]
        if not loading:
            return
        schema: str | None = event_type.schema_name
        table = event_type.table_name
        columns = [(c.name, c.dataset_type) for c in columns_of(event_type.fields or [])]
        try:
            schema = schema or self.default_schema(org_id)
            sink = self.sink_for(org_id)
            present = sink.table_columns(schema, table)
            if present is None:
                sink.create_table(schema, table, columns)
            else:
                known = {c.lower() for c in present}
                if missing := [c for c in columns if c[0].lower() not in known]:
                    sink.add_columns(schema, table, missing)
            self._load(sink, schema, table, name, loading, rows.table)
        except Exception as exc:  # noqa: BLE001 - any failure of the output restreams the rows
            log.warning("pipeline load of %s.%s failed: %s", schema, table, exc)
            _set(loading, "LOAD_ERROR", f"{type(exc).__name__}: {exc}")
            return
        committed = utcnow()
        _set(loading, "VALID")
        key = f"{schema}.{table}" if schema else table
        outcome.loaded[key] = outcome.loaded.get(key, 0) + len(loading)
        parsed: dict[Any, datetime | None] = {}  # events of one webhook call share received_at
        for item in loading:
            stamp = item.received
            start = parsed.get(stamp, _UNPARSED) if isinstance(stamp, str) else None
            if start is _UNPARSED:
                start = parsed[stamp] = received_at(item.original)
            if start is not None:
                latencies.append(max(0.0, (committed - start).total_seconds() * 1000))

    @staticmethod
    def _load(
        sink: TableSink,
        schema: str | None,
        table: str,
        event_type: str,
        loading: list[_Event],
        data: pa.Table,
    ) -> None:
        """Load the rows (`data[i]` is `loading[i]`'s), exactly once per spool file where the sink
        records marks: rows of files already marked for this event type are skipped."""
        files = sorted({item.file for item in loading if item.file is not None})
        if not isinstance(sink, MarkedSink) or not files or any(item.file is None for item in loading):
            sink.load(schema, table, data)  # at least once (docs/scale-out.md)
            return
        marks = {name: f"{name}:{event_type}" for name in files}
        recorded = sink.loaded_marks(schema, table, list(marks.values()))
        done = {name for name in files if marks[name] in recorded}
        if done:
            log.warning("pipeline: %d spool files already loaded into %s: skipped", len(done), table)
            data = data.filter(pa.array([item.file not in done for item in loading]))
        if data.num_rows:
            sink.load_marked(schema, table, data, [marks[name] for name in files if name not in done])

    def _record(
        self, org_id: int, items: list[_Event], outcome: BatchOutcome, latencies: list[float]
    ) -> None:
        started = time.monotonic()
        # (event type, status) -> its events, in order of first appearance (one pass for all)
        groups: dict[tuple[str, str], list[_Event]] = {}
        for item in items:
            key = (item.event_type, item.status or "")
            group = groups.get(key)
            if group is None:
                groups[key] = [item]
            else:
                group.append(item)
        for (_, status), group in groups.items():
            assert status, "every event ends with a status"
            outcome.counts[status] += len(group)
        if any(status in RESTREAMED for status in outcome.counts):
            restreamed = [
                RestreamItem(loads(item.raw), item.status or "", item.error, item.event_type, item.input_id)
                for item in items
                if item.status in RESTREAMED
            ]
            self.restream.add(org_id, restreamed)
        self.samples.record(
            org_id,
            [
                Sample(i.event_type, i.status or "", loads(i.raw), i.error, i.input_id)
                for group in groups.values()
                for i in group[-SAMPLES_KEPT:]
            ],
        )
        self.samples.count(org_id, Counter({key: len(group) for key, group in groups.items()}))
        if latencies:
            outcome.latency_count = len(latencies)
            outcome.latency_avg_ms = sum(latencies) / len(latencies)
            outcome.latency_max_ms = max(latencies)
        self._record_metrics(org_id, items, outcome, latencies)
        self._notify(org_id, groups)
        log.debug("pipeline batch of %d events recorded in %.3f s", len(items), time.monotonic() - started)

    def _record_metrics(
        self, org_id: int, items: list[_Event], outcome: BatchOutcome, latencies: list[float]
    ) -> None:
        counts = outcome.counts
        size = sum(len(item.raw) for item in items)
        self.metrics.record(
            org_id,
            PIPELINE,
            incoming=len(items),
            loaded=counts["VALID"],
            errors=sum(counts[s] for s in ERRORS),
            unmapped=sum(counts[s] for s in UNMAPPED),
            ignored=sum(counts[s] for s in IGNORED),
            bytes_total=size,
            latencies_ms=latencies,
            in_pipeline=self.spool.pending(org_id),
            in_transit=self.restream.size_of(org_id)[0],
        )
        per_input = Counter(item.input_id for item in items if item.input_id is not None)
        for input_id, n in per_input.items():
            self.metrics.record(org_id, f"input:{input_id}", incoming=n)
        if counts["VALID"]:
            self.metrics.record(org_id, "output", incoming=counts["VALID"], latencies_ms=latencies)
        for table, n in outcome.loaded.items():
            self.metrics.record(org_id, table_node(table), loaded=n)

    def _notify(self, org_id: int, groups: dict[tuple[str, str], list[_Event]]) -> None:
        failures = {key: group for key, group in groups.items() if key[1] in ERRORS or key[1] in UNMAPPED}
        for (event_type, status), group in failures.items():
            restreamed = status in RESTREAMED
            self.notifications.notify(
                org_id,
                status,
                "error" if status in ERRORS else "warning",
                f"Events of type {event_type} could not be loaded ({status})"
                + ("; they wait in the restream queue" if restreamed else ""),
                description=group[0].error,
                params={"eventType": event_type, "status": status, "count": len(group)},
            )


def _set(items: list[_Event], status: str, error: str | None = None) -> None:
    for item in items:
        item.status, item.error = status, error


def _metadata(event: Any) -> dict[str, Any]:
    metadata = event.get(METADATA_FIELD) if isinstance(event, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _type_of(event: Any) -> str:
    return _type_in(_metadata(event))


def _type_in(metadata: dict[str, Any]) -> str:
    for key in ("event_type", "input_label"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value[:255]
    return DEFAULT_EVENT_TYPE


def _id_in(metadata: dict[str, Any]) -> int | None:
    value = metadata.get("input_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
