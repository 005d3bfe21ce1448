"""The restream queue: events that could not be loaded, kept until they are sent through again.

An event is kept as it entered the pipeline (before the transform, `_metadata` included), so a
fixed transform or mapping sees it unchanged. `restream` moves the queue back into the incoming
spool in chunks; each chunk is deleted (`DELETE ... RETURNING`) and appended to the spool in one
transaction, so two concurrent restreams never send an event twice (the second deletes nothing)
and a failed append leaves the events queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select

from openlytics.core.pipeline import require_read
from openlytics.core.pipeline.spool import IncomingSpool, dumps, loads
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import RestreamEvent
from openlytics.store.types import utcnow

CHUNK = 5000


@dataclass(frozen=True)
class RestreamItem:
    """An event to keep for a later restream, with why it could not be loaded."""

    event: Any
    status: str
    error: str | None = None
    event_type: str | None = None
    input_id: int | None = None


def received_at(event: Any) -> datetime | None:
    """When the event entered the pipeline (`_metadata.received_at`), if it says so."""
    metadata = event.get("_metadata") if isinstance(event, dict) else None
    value = metadata.get("received_at") if isinstance(metadata, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class RestreamQueue:
    """Per-organization queue of events waiting to be sent through the pipeline again."""

    def __init__(self, db: Database, spool: IncomingSpool) -> None:
        self.db = db
        self.spool = spool
        # Called with (org_id, events restreamed) after each restream (metrics).
        self.on_restreamed: list[Any] = []

    def add(self, org_id: int, items: Sequence[RestreamItem]) -> int:
        """Queue the events; returns how many."""
        if not items:
            return 0
        now = utcnow()
        with self.db.session() as s:
            for item in items:
                text = dumps(item.event).decode()
                s.add(
                    RestreamEvent(
                        org_id=org_id,
                        input_id=item.input_id,
                        event_type=item.event_type,
                        status=item.status,
                        error=item.error,
                        event=text,
                        byte_size=len(text.encode()),
                        received_at=received_at(item.event) or now,
                    )
                )
        return len(items)

    def size(self, principal: Principal) -> tuple[int, int]:
        """(events, bytes) waiting in the organization's queue."""
        require_read(principal, "restream queue")
        return self.size_of(principal.org_id)

    def size_of(self, org_id: int) -> tuple[int, int]:
        """(events, bytes) waiting (internal: no permission check)."""
        with self.db.session() as s:
            count, size = s.execute(
                select(
                    func.count(RestreamEvent.id), func.coalesce(func.sum(RestreamEvent.byte_size), 0)
                ).where(RestreamEvent.org_id == org_id)
            ).one()
            return int(count), int(size)

    def restream(self, principal: Principal) -> int:
        """Send every queued event back into the pipeline (oldest first); returns how many."""
        principal.require(Action.MANAGE_SOURCES, "restream queue")
        total = 0
        while True:
            with self.db.session() as s:
                oldest = (
                    select(RestreamEvent.id)
                    .where(RestreamEvent.org_id == principal.org_id)
                    .order_by(RestreamEvent.id)
                    .limit(CHUNK)
                )
                rows = s.execute(
                    delete(RestreamEvent)
                    .where(
                        RestreamEvent.org_id == principal.org_id,
                        RestreamEvent.id.in_(oldest.scalar_subquery()),
                    )
                    .returning(RestreamEvent.id, RestreamEvent.event)
                ).all()
                if not rows:
                    break
                events = [loads(text) for _, text in sorted(rows)]
                # Appended before the commit: a failed append rolls the deletion back.
                self.spool.append(principal.org_id, events)
            total += len(rows)
        for hook in self.on_restreamed:
            hook(principal.org_id, total)
        return total

    def start(self, principal: Principal) -> int:
        """Start restreaming (here: restream everything now)."""
        return self.restream(principal)

    def purge(self, principal: Principal) -> int:
        """Delete every queued event; returns how many."""
        principal.require(Action.MANAGE_SOURCES, "restream queue")
        with self.db.session() as s:
            result = s.execute(delete(RestreamEvent).where(RestreamEvent.org_id == principal.org_id))
            return int(result.rowcount)  # type: ignore[attr-defined]
