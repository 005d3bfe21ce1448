"""Notification destinations (e-mail lists, webhooks) and sending to them.

Destinations keep their options encrypted at rest: a webhook URL or its password is a secret.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox
from openlytics.store.db import Database
from openlytics.store.models import NotificationDestination

log = logging.getLogger(__name__)

KINDS = frozenset({"email", "webhook"})


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server."""

    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    sender: str = "openlytics@localhost"
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Attachment:
    """A file sent along with an e-mail."""

    filename: str
    content: bytes
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """What to tell: a subject and text for people (HTML optional), a JSON payload for machines."""

    subject: str
    body: str
    payload: dict[str, Any]
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


class NotificationError(Exception):
    """A notification could not be delivered (logged; never fails the run that caused it)."""


class Sender:
    """Delivers messages by e-mail and webhook."""

    def __init__(self, smtp: SmtpConfig | None, *, webhook_timeout: float = 10.0) -> None:
        self.smtp = smtp
        self.webhook_timeout = webhook_timeout

    def email(self, recipients: list[str], message: Message) -> None:
        """Send one e-mail to `recipients` (text, optional HTML alternative, attachments)."""
        cfg = self.smtp
        if cfg is None or not cfg.host:
            raise NotificationError("e-mail is not configured (set OPENLYTICS_SMTP__HOST)")
        mail = EmailMessage()
        mail["From"] = cfg.sender
        mail["To"] = ", ".join(recipients)
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.media_type.partition("/")
            mail.add_attachment(
                attachment.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
        try:
            client: smtplib.SMTP
            if cfg.ssl:
                client = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with client:
                if cfg.starttls:
                    client.starttls(context=ssl.create_default_context())
                if cfg.username:
                    client.login(cfg.username, cfg.password)
                client.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(f"e-mail to {', '.join(recipients)} failed: {exc}") from exc

    def webhook(self, url: str, message: Message, *, auth: tuple[str, str] | None = None) -> None:
        """POST the message's JSON payload to `url`."""
        try:
            response = httpx.post(
                url,
                content=json.dumps(message.payload, default=str),
                headers={"Content-Type": "application/json"},
                auth=auth,
                timeout=self.webhook_timeout,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise NotificationError(f"webhook {urlsplit(url).netloc} failed: {exc}") from exc


class DestinationService:
    """Create, list and delete notification destinations (admins)."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def list(self, principal: Principal) -> list[NotificationDestination]:
        """Destinations of the organization."""
        principal.require(Action.READ, "destinations")
        with self.db.session() as s:
            stmt = select(NotificationDestination).where(NotificationDestination.org_id == principal.org_id)
            return list(s.scalars(stmt.order_by(NotificationDestination.id)))

    def get(self, principal: Principal, destination_id: int) -> NotificationDestination:
        """One destination."""
        principal.require(Action.READ, f"destination {destination_id}")
        with self.db.session() as s:
            found = s.get(NotificationDestination, destination_id)
        if found is None or found.org_id != principal.org_id:
            raise NotFoundError("destination", destination_id)
        return found

    def create(self, principal: Principal, *, name: Any, kind: Any, options: Any) -> NotificationDestination:
        """A new destination; options are checked for its kind and stored encrypted."""
        principal.require(Action.MANAGE_SOURCES, "destinations")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("name", "a non-empty string")
        if kind not in KINDS:
            raise InvalidInputError("type", "email or webhook")
        checked = check_options(kind, options)
        with self.db.session() as s:
            taken = s.scalar(
                select(NotificationDestination.id).where(
                    NotificationDestination.org_id == principal.org_id, NotificationDestination.name == name
                )
            )
            if taken is not None:
                raise ConflictError(f"a destination named {name!r} exists", field="name")
            destination = NotificationDestination(
                org_id=principal.org_id,
                user_id=principal.user_id,
                name=name.strip(),
                kind=kind,
                options_encrypted=self.box.encrypt(json.dumps(checked)),
            )
            s.add(destination)
            s.flush()
            return destination

    def update(
        self, principal: Principal, destination_id: int, *, name: Any = None, options: Any = None
    ) -> NotificationDestination:
        """Rename a destination or replace its options (checked for its kind, stored encrypted)."""
        principal.require(Action.MANAGE_SOURCES, f"destination {destination_id}")
        with self.db.session() as s:
            found = s.get(NotificationDestination, destination_id)
            if found is None or found.org_id != principal.org_id:
                raise NotFoundError("destination", destination_id)
            if name is not None:
                if not isinstance(name, str) or not name.strip():
                    raise InvalidInputError("name", "a non-empty string")
                taken = s.scalar(
                    select(NotificationDestination.id).where(
                        NotificationDestination.org_id == principal.org_id,
                        NotificationDestination.name == name.strip(),
                        NotificationDestination.id != destination_id,
                    )
                )
                if taken is not None:
                    raise ConflictError(f"a destination named {name!r} exists", field="name")
                found.name = name.strip()
            if options is not None:
                found.options_encrypted = self.box.encrypt(json.dumps(check_options(found.kind, options)))
            return found

    def delete(self, principal: Principal, destination_id: int) -> None:
        """Remove a destination and the subscriptions to it."""
        principal.require(Action.MANAGE_SOURCES, f"destination {destination_id}")
        with self.db.session() as s:
            found = s.get(NotificationDestination, destination_id)
            if found is None or found.org_id != principal.org_id:
                raise NotFoundError("destination", destination_id)
            s.delete(found)

    def options(self, destination: NotificationDestination) -> dict[str, Any]:
        """The decrypted options of a destination."""
        options: dict[str, Any] = json.loads(self.box.decrypt(destination.options_encrypted))
        return options

    def public_options(self, destination: NotificationDestination) -> dict[str, Any]:
        """Options without secrets, for display."""
        options = self.options(destination)
        if "password" in options:
            options["password"] = "--------"  # noqa: S105 - a mask, not a password
        return options


def check_options(kind: str, options: Any) -> dict[str, Any]:
    """Validated options of a destination kind."""
    if not isinstance(options, dict):
        raise InvalidInputError("options", "an object")
    if kind == "email":
        addresses = options.get("addresses")
        if isinstance(addresses, str):
            addresses = [a.strip() for a in addresses.split(",") if a.strip()]
        if not isinstance(addresses, list) or not addresses or not all("@" in str(a) for a in addresses):
            raise InvalidInputError("options.addresses", "one or more e-mail addresses")
        return {"addresses": [str(a) for a in addresses]}
    url = options.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise InvalidInputError("options.url", "an http(s) URL")
    checked: dict[str, Any] = {"url": url}
    for key in ("username", "password"):
        if options.get(key):
            checked[key] = str(options[key])
    return checked
