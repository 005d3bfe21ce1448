"""Pipeline settings of an organization: e-mail digests, S3 retention, credits and the deployment.

- E-mail digests: a document with `digestInfo`, `digestWarning`, `digestError` (booleans),
  `digestFrequency`, `digestSendHour`, `digestEmailsTimeZone`, `notificationsInDigest`,
  `recipients` and `recipientsChanged`; unknown keys are kept, missing ones take the defaults.
- S3 retention: where raw events are archived (`awsBucketName`, `awsAccessKeyId`,
  `awsSecretAccessKey`, `filePrefix`, `saveMetadata`, `gzip`, `serverSideEncryption`). The secret
  key is encrypted at rest and masked on read; deleting a retention that does not exist succeeds.
- Credits are derived from real event volumes: one credit per `EVENTS_PER_CREDIT` incoming events
  of a day (rounded up), counted from the pipeline's minute counters (node "pipeline").
The default mapping mode, also kept in `PipelineSettings`, belongs to `EventTypeService`.
`settings_row(session, org_id)` is the one way to get the row for a change: it creates it when
missing, tolerating another session creating it at the same moment.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openlytics import __version__
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.pipeline import require_read
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox
from openlytics.store.db import Database
from openlytics.store.models import Organization, PipelineMinute, PipelineSettings
from openlytics.store.types import utcnow

MASK = "**********"
EVENTS_PER_CREDIT = 1000
PIPELINE_NODE = "pipeline"
STARTED_AT = utcnow()

DEFAULT_EMAIL_NOTIFICATIONS: dict[str, Any] = {
    "digestInfo": True,
    "digestWarning": True,
    "digestError": True,
    "digestFrequency": "DAILY",
    "digestSendHour": 9,
    "digestEmailsTimeZone": "UTC",
    "notificationsInDigest": 10,
    "recipientsChanged": False,
    "recipients": [],
}
DIGEST_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "NEVER", "HOURLY"})
S3_FIELDS = (
    "awsBucketName",
    "awsAccessKeyId",
    "awsSecretAccessKey",
    "filePrefix",
    "saveMetadata",
    "gzip",
    "serverSideEncryption",
)
S3_SECRET = "awsSecretAccessKey"  # noqa: S105 - a field name, not a password
EMPTY_S3_RETENTION: dict[str, Any] = {
    "awsBucketName": None,
    "awsAccessKeyId": None,
    "awsSecretAccessKey": None,
    "filePrefix": None,
    "saveMetadata": True,
    "gzip": True,
    "serverSideEncryption": True,
}


class PipelineSettingsService:
    """E-mail digests, S3 retention, credits and deployment facts of an organization's pipeline."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    # ----- e-mail digests ------------------------------------------------------------------------
    def email_notifications(self, principal: Principal) -> dict[str, Any]:
        """The digest settings (defaults for what was never set)."""
        require_read(principal, "pipeline settings")
        with self.db.session() as s:
            row = s.get(PipelineSettings, principal.org_id)
            stored = dict(row.email_notifications) if row is not None else {}
        return {**DEFAULT_EMAIL_NOTIFICATIONS, **stored}

    def set_email_notifications(self, principal: Principal, document: dict[str, Any]) -> dict[str, Any]:
        """Replace the digest settings; missing keys fall back to the defaults."""
        principal.require(Action.MANAGE_SOURCES, "pipeline settings")
        merged = {**DEFAULT_EMAIL_NOTIFICATIONS, **_email_document(document)}
        with self.db.session() as s:
            settings_row(s, principal.org_id).email_notifications = merged
        return merged

    # ----- S3 retention --------------------------------------------------------------------------
    def s3_retention(self, principal: Principal) -> dict[str, Any]:
        """Where raw events are archived, the secret masked (all None when not set)."""
        require_read(principal, "pipeline settings")
        with self.db.session() as s:
            row = s.get(PipelineSettings, principal.org_id)
            stored = dict(row.s3_retention) if row is not None else {}
        return {**EMPTY_S3_RETENTION, **stored}

    def set_s3_retention(self, principal: Principal, document: dict[str, Any]) -> dict[str, Any]:
        """Set the archive; the secret is encrypted and shown masked."""
        principal.require(Action.MANAGE_SOURCES, "pipeline settings")
        shown = {**EMPTY_S3_RETENTION}
        for field in S3_FIELDS:
            if field in document:
                shown[field] = document[field]
        for field in ("awsBucketName", "awsAccessKeyId", S3_SECRET):
            if not isinstance(shown[field], str) or not shown[field].strip():
                raise InvalidInputError(field, "a non-empty string")
        for field in ("saveMetadata", "gzip", "serverSideEncryption"):
            shown[field] = _boolean(field, shown[field])
        secret = str(shown[S3_SECRET])
        shown[S3_SECRET] = MASK
        with self.db.session() as s:
            row = settings_row(s, principal.org_id)
            row.s3_retention = shown
            row.s3_retention_secrets_encrypted = self.box.encrypt(json.dumps({S3_SECRET: secret}))
        return shown

    def delete_s3_retention(self, principal: Principal) -> None:
        """Stop archiving (succeeds when nothing was set)."""
        principal.require(Action.MANAGE_SOURCES, "pipeline settings")
        with self.db.session() as s:
            row = s.get(PipelineSettings, principal.org_id)
            if row is not None:
                row.s3_retention = {}
                row.s3_retention_secrets_encrypted = None

    # ----- deployment and credits ----------------------------------------------------------------
    def deployment_info(self, principal: Principal) -> dict[str, Any]:
        """What runs this pipeline: the organization's deployment name and the server's version."""
        require_read(principal, "deployment")
        return {
            "deploymentName": self._org(principal).slug,
            "gitBranch": f"release-{__version__}",
            "gitCommitId": f"v{__version__}",
            "gitAuthorEmail": None,
            "buildTimestamp": int(STARTED_AT.timestamp() * 1000),
        }

    def used_credits(
        self, principal: Principal, *, from_day: date | None = None, to_day: date | None = None
    ) -> list[dict[str, Any]]:
        """Credits used per day: one per started thousand incoming events (days with events only)."""
        require_read(principal, "credits")
        slug = self._org(principal).slug
        with self.db.session() as s:
            stmt = select(PipelineMinute.minute, PipelineMinute.incoming).where(
                PipelineMinute.org_id == principal.org_id, PipelineMinute.node == PIPELINE_NODE
            )
            if from_day is not None:
                stmt = stmt.where(PipelineMinute.minute >= datetime.combine(from_day, time.min, tzinfo=UTC))
            if to_day is not None:
                end = datetime.combine(to_day + timedelta(days=1), time.min, tzinfo=UTC)
                stmt = stmt.where(PipelineMinute.minute < end)
            per_day: dict[date, int] = defaultdict(int)
            for minute, incoming in s.execute(stmt):
                per_day[minute.date()] += int(incoming or 0)
        return [
            {"date": day.isoformat(), "instance_name": slug, "value": _credits(count)}
            for day, count in sorted(per_day.items())
            if count
        ]

    def company_credits(self, principal: Principal) -> dict[str, Any]:
        """The organization's credit account: this month's period and what it used so far."""
        require_read(principal, "credits")
        org = self._org(principal)
        today = utcnow().date()
        start = today.replace(day=1)
        used = sum(d["value"] for d in self.used_credits(principal, from_day=start, to_day=today))
        return {
            "company_name": org.name,
            "payment_period": "MONTHLY",
            "start_date": start.isoformat(),
            "subscription_type": "SELF_HOSTED",
            "used_credits": used,
        }

    # ----- helpers -------------------------------------------------------------------------------
    def _org(self, principal: Principal) -> Organization:
        with self.db.session() as s:
            org = s.scalar(select(Organization).where(Organization.id == principal.org_id))
            if org is None:
                raise NotFoundError("organization", principal.org_id)
            return org


def settings_row(session: Session, org_id: int) -> PipelineSettings:
    """The organization's `PipelineSettings` row in `session`, created (with defaults) when missing.

    Two sessions may both find no row and insert one: the insert runs in a SAVEPOINT, so the
    loser's unique violation rolls back only that, and it reads the winner's row instead.
    """
    for _ in range(3):
        row = session.get(PipelineSettings, org_id)
        if row is not None:
            return row
        try:
            with session.begin_nested():
                row = PipelineSettings(org_id=org_id, email_notifications={}, s3_retention={})
                session.add(row)
            return row
        except IntegrityError:
            continue  # created meanwhile by another session (or the organization is gone)
    raise NotFoundError("organization", org_id)


def _email_document(document: dict[str, Any]) -> dict[str, Any]:
    out = dict(document)
    for field in ("digestInfo", "digestWarning", "digestError", "recipientsChanged"):
        if field in out:
            out[field] = _boolean(field, out[field])
    frequency = out.get("digestFrequency")
    if frequency is not None and (
        not isinstance(frequency, str) or frequency.upper() not in DIGEST_FREQUENCIES
    ):
        raise InvalidInputError("digestFrequency", f"one of {', '.join(sorted(DIGEST_FREQUENCIES))}")
    if isinstance(frequency, str):
        out["digestFrequency"] = frequency.upper()
    recipients = out.get("recipients", [])
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise InvalidInputError("recipients", "a list of e-mail addresses")
    hour = out.get("digestSendHour")
    if hour is not None and (not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23):
        raise InvalidInputError("digestSendHour", "an hour from 0 to 23")
    return out


def _boolean(field: str, value: Any) -> bool:
    # Clients send booleans as JSON booleans or as the strings "true"/"false".
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInputError(field, "true or false")


def _credits(events: int) -> int:
    return math.ceil(events / EVENTS_PER_CREDIT)
