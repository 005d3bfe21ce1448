"""Pipeline notifications: what happened (loads failing, events restreamed, custom messages).

A notification with the same type and message as one created less than `AGGREGATE_SECONDS`
before is not repeated: that one's `aggregated_count` grows (and its params are replaced by the
newest). Severities: info, warning, error.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from openlytics.core.errors import InvalidInputError
from openlytics.core.pipeline import require_read
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import PipelineNotification
from openlytics.store.types import utcnow

SEVERITIES = ("info", "warning", "error")
AGGREGATE_SECONDS = 60
CUSTOM = "CUSTOM"
MAX_LISTED = 1000


class PipelineNotifications:
    """Notifications of organizations' pipelines."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def notify(
        self,
        org_id: int,
        type: str,
        severity: str,
        message: str,
        *,
        description: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> PipelineNotification:
        """Record a notification, or count it into the same one from the last minute."""
        if severity not in SEVERITIES:
            raise InvalidInputError("severity", f"one of {', '.join(SEVERITIES)}")
        now = utcnow()
        with self.db.session() as s:
            recent = s.scalars(
                select(PipelineNotification)
                .where(
                    PipelineNotification.org_id == org_id,
                    PipelineNotification.type == type,
                    PipelineNotification.message == message,
                    PipelineNotification.created_at >= now - timedelta(seconds=AGGREGATE_SECONDS),
                )
                .order_by(PipelineNotification.id.desc())
                .limit(1)
            ).one_or_none()
            if recent is not None:
                recent.aggregated_count += 1
                recent.updated_at = now
                if params is not None:
                    recent.params = params
                return recent
            row = PipelineNotification(
                org_id=org_id,
                type=type,
                severity=severity,
                message=message,
                description=description,
                params=params or {},
            )
            s.add(row)
            s.flush()
            return row

    def since(self, principal: Principal, moment: datetime) -> list[PipelineNotification]:
        """Notifications created or repeated at or after `moment`, oldest first."""
        require_read(principal, "notifications")
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(PipelineNotification)
                    .where(
                        PipelineNotification.org_id == principal.org_id,
                        PipelineNotification.updated_at >= moment,
                    )
                    .order_by(PipelineNotification.created_at, PipelineNotification.id)
                    .limit(MAX_LISTED)
                )
            )

    def publish(self, principal: Principal, level: str, description: str, data: Any) -> PipelineNotification:
        """A custom notification from a user or script (`level`: info, warning or error)."""
        principal.require(Action.WRITE, "notifications")
        level = str(level or "").strip().lower()
        if level not in SEVERITIES:
            raise InvalidInputError("level", f"one of {', '.join(SEVERITIES)}")
        if not isinstance(description, str) or not description.strip():
            raise InvalidInputError("description", "a non-empty text")
        params = data if isinstance(data, dict) else {"data": data}
        return self.notify(
            principal.org_id, CUSTOM, level, description, description=description, params=params
        )
