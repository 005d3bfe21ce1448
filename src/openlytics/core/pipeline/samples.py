"""Samples of recent events per (event type, status), and how many events ended with each status.

`record` keeps the newest `KEEP` samples per (event type, status); a sample is the event as it
entered the pipeline (before the transform), so transforms can be tested on it. `count` adds to
the running counts shown by `stats`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline import require_read
from openlytics.core.pipeline.spool import dumps
from openlytics.core.principal import Principal
from openlytics.store.db import Database
from openlytics.store.models import EventSample, EventStatusCount

KEEP = 10
STATUS_CODES: dict[str, str] = {
    "VALID": "Valid",
    "NO_MAPPING": "No mapping for the event type",
    "NEW_TYPE": "New event type",
    "DROP": "Dropped by the transform",
    "DISCARDED": "The event type is discarded",
    "UNMAPPED_FIELDS": "Unmapped fields",
    "TYPE_MISMATCH": "Type mismatch",
    "TRANSFORM_ERROR": "Transform error",
    "INVALID_JSON": "Invalid JSON",
    "LOAD_ERROR": "Load error",
    "NO_MAPPED_FIELDS": "No mapped fields",
}
RESTREAMED = frozenset(
    {
        "NO_MAPPING",
        "NEW_TYPE",
        "UNMAPPED_FIELDS",
        "TYPE_MISMATCH",
        "TRANSFORM_ERROR",
        "LOAD_ERROR",
        "NO_MAPPED_FIELDS",
    }
)


@dataclass(frozen=True)
class Sample:
    """One event to keep as a sample of its (event type, status)."""

    event_type: str
    status: str
    event: Any
    error: str | None = None
    input_id: int | None = None


class SampleStore:
    """Event samples and status counts of organizations."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, org_id: int, samples: Sequence[Sample]) -> None:
        """Keep the samples (the newest `KEEP` per event type and status)."""
        groups: dict[tuple[str, str], list[Sample]] = {}
        for sample in samples:
            groups.setdefault((sample.event_type, sample.status), []).append(sample)
        if not groups:
            return
        with self.db.session() as s:
            for (event_type, status), group in groups.items():
                for sample in group[-KEEP:]:
                    s.add(
                        EventSample(
                            org_id=org_id,
                            input_id=sample.input_id,
                            event_type=event_type,
                            status=status,
                            error=sample.error,
                            event=dumps(sample.event).decode(),
                        )
                    )
                s.flush()
                keep = (
                    select(EventSample.id)
                    .where(*_group(org_id, event_type, status))
                    .order_by(EventSample.id.desc())
                    .limit(KEEP)
                )
                kept = list(s.scalars(keep))
                s.execute(
                    delete(EventSample).where(
                        *_group(org_id, event_type, status), EventSample.id.not_in(kept)
                    )
                )

    def count(self, org_id: int, counts: Mapping[tuple[str, str], int]) -> None:
        """Add `counts` ({(event type, status): n}) to the running status counts."""
        for (event_type, status), n in counts.items():
            if n:
                self._add(org_id, event_type, status, n)

    def _add(self, org_id: int, event_type: str, status: str, n: int) -> None:
        key = (
            EventStatusCount.org_id == org_id,
            EventStatusCount.event_type == event_type,
            EventStatusCount.status == status,
        )
        for attempt in range(3):
            try:
                with self.db.session() as s:
                    done = s.execute(
                        update(EventStatusCount).where(*key).values(count=EventStatusCount.count + n)
                    )
                    if not done.rowcount:  # type: ignore[attr-defined]
                        s.add(EventStatusCount(org_id=org_id, event_type=event_type, status=status, count=n))
                return
            except IntegrityError:  # inserted concurrently: the next attempt updates it
                if attempt == 2:
                    raise

    def stats(self, principal: Principal) -> dict[str, dict[str, int]]:
        """{event type: {status: count}} of the organization."""
        require_read(principal, "samples")
        with self.db.session() as s:
            rows = s.execute(
                select(EventStatusCount.event_type, EventStatusCount.status, EventStatusCount.count)
                .where(EventStatusCount.org_id == principal.org_id)
                .order_by(EventStatusCount.event_type, EventStatusCount.status)
            )
            stats: dict[str, dict[str, int]] = {}
            for event_type, status, n in rows:
                stats.setdefault(event_type, {})[status] = int(n)
            return stats

    def samples(
        self,
        principal: Principal,
        *,
        event_type: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int = KEEP,
    ) -> list[EventSample]:
        """The newest samples, optionally of one event type and some statuses."""
        require_read(principal, "samples")
        wanted = [s.strip().upper() for s in statuses or [] if s and s.strip()]
        if unknown := [s for s in wanted if s not in STATUS_CODES]:
            raise InvalidInputError(
                "status", f"unknown status {unknown[0]!r}: one of {', '.join(STATUS_CODES)}"
            )
        query = select(EventSample).where(EventSample.org_id == principal.org_id)
        if event_type:
            query = query.where(EventSample.event_type == event_type)
        if wanted:
            query = query.where(EventSample.status.in_(wanted))
        with self.db.session() as s:
            return list(s.scalars(query.order_by(EventSample.id.desc()).limit(max(1, min(limit, 1000)))))

    def delete_event_type(self, org_id: int, name: str) -> None:
        """Forget the samples and counts of a deleted event type."""
        with self.db.session() as s:
            s.execute(delete(EventSample).where(EventSample.org_id == org_id, EventSample.event_type == name))
            s.execute(
                delete(EventStatusCount).where(
                    EventStatusCount.org_id == org_id, EventStatusCount.event_type == name
                )
            )


def _group(org_id: int, event_type: str, status: str) -> tuple[Any, ...]:
    return (EventSample.org_id == org_id, EventSample.event_type == event_type, EventSample.status == status)
