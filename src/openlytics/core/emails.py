"""E-mails people ask the server to send: HTML, an optional dashboard PDF and an attached file.

Each organization may send `daily_quota` e-mails per rolling day; past it, `QuotaExceededError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from openlytics.core.errors import InvalidInputError, OpenlyticsError, TransientError
from openlytics.core.notifications import Attachment, Message, NotificationError, Sender
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import SentEmail
from openlytics.store.types import utcnow

ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")
MAX_RECIPIENTS = 100


class QuotaExceededError(OpenlyticsError, TransientError):
    """The organization sent as many e-mails today as it may."""

    code = "rate_limited"

    def __init__(self, quota: int) -> None:
        super().__init__(f"the daily quota of {quota} e-mails is used up; try again tomorrow", quota=quota)
        self.quota = quota


class EmailDeliveryError(OpenlyticsError, TransientError):
    """The SMTP server refused or could not be reached."""

    code = "source_unavailable"


@dataclass(frozen=True)
class OutgoingEmail:
    """What to send."""

    subject: str
    recipients: list[str]
    html: str
    attachments: tuple[Attachment, ...] = ()


class EmailService:
    """Validate, count against the quota, send, and record e-mails."""

    def __init__(self, db: Database, sender: Sender, *, daily_quota: Callable[[], int]) -> None:
        self.db = db
        self.sender = sender
        self.daily_quota = daily_quota

    def check(self, principal: Principal, *, subject: Any, recipients: Any, html: Any) -> OutgoingEmail:
        """Validate an e-mail and the quota before any work (rendering, attaching) is done."""
        principal.require(Action.WRITE, "e-mails")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 998:
            raise InvalidInputError("subject", "a non-empty line of at most 998 characters")
        if isinstance(recipients, str):
            recipients = [recipients]
        if (
            not isinstance(recipients, list)
            or not recipients
            or len(recipients) > MAX_RECIPIENTS
            or not all(isinstance(r, str) and ADDRESS.match(r.strip()) for r in recipients)
        ):
            raise InvalidInputError("recipients", f"1 to {MAX_RECIPIENTS} e-mail addresses")
        if html is not None and not isinstance(html, str):
            raise InvalidInputError("html", "a string")
        self._check_quota(principal)
        return OutgoingEmail(subject.strip(), [r.strip() for r in recipients], html or "")

    def send(self, principal: Principal, email: OutgoingEmail) -> SentEmail:
        """Send a checked e-mail (the quota is checked again: concurrent sends cannot pass it)."""
        self._check_quota(principal)
        text = re.sub(r"<[^>]+>", "", email.html) or email.subject
        message = Message(
            subject=email.subject,
            body=text,
            payload={},
            html=email.html or None,
            attachments=email.attachments,
        )
        record = SentEmail(
            org_id=principal.org_id,
            user_id=principal.user_id,
            subject=email.subject,
            recipients=email.recipients,
        )
        try:
            self.sender.email(email.recipients, message)
        except NotificationError as exc:
            record.status, record.error = "failed", str(exc)
        with self.db.session() as s:
            s.add(record)
        if record.status == "failed":
            raise EmailDeliveryError(record.error or "e-mail failed")
        return record

    def _check_quota(self, principal: Principal) -> None:
        quota = self.daily_quota()
        since = utcnow() - timedelta(days=1)
        with self.db.session() as s:
            sent = s.scalar(
                select(func.count())
                .select_from(SentEmail)
                .where(
                    SentEmail.org_id == principal.org_id,
                    SentEmail.created_at >= since,
                    SentEmail.status == "sent",
                )
            )
        if (sent or 0) >= quota:
            raise QuotaExceededError(quota)
