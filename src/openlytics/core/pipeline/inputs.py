"""Pipeline inputs: where an organization's events come from.

- `REST`: a webhook; `ingest(token, body)` takes a JSON object, an array of objects or JSON lines.
- `FILE`: files dropped in a folder under an allowed directory (read once each), or uploaded.
- `POSTGRESQL` / `MYSQL`: one table read incrementally by an increasing column.
- Any other upper-case type (S3, MIXPANEL, ...): a vendor source this server cannot reach; its
  configuration is stored (secrets encrypted) with status `unreachable`, and nothing is read.

Every event gets `_metadata` (event type, input label/id/type, received_at, uuid; fields the event
brings in its own `_metadata` win) and goes to the `IncomingSpool`. Polled inputs remember where
they are in `cursor` only after the spool took the events, so a crash re-reads, never skips.
"""

from __future__ import annotations

import builtins
import json
import logging
import math
import os
import re
import secrets as pysecrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, without_hidden
from openlytics.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    OpenlyticsError,
    SourceUnavailableError,
)
from openlytics.core.pipeline import require_read
from openlytics.core.pipeline.input_sources import (
    FILE_CHUNK,
    MASK,
    FileProblems,
    TableReader,
    check_database_configuration,
    file_format,
    iter_file_events,
    parse_json_events,
    split_secrets,
    validate_vendor_configuration,
)
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox, token_hash
from openlytics.store.db import Database
from openlytics.store.models import PipelineInput
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

REACHABLE_TYPES = ("REST", "FILE", "POSTGRESQL", "MYSQL")
POLLED_TYPES = ("FILE", "POSTGRESQL", "MYSQL")
DATABASE_TYPES = ("POSTGRESQL", "MYSQL")
UNREACHABLE = "unreachable"
LEASE = timedelta(minutes=5)  # a claimed poll owns its input this long (extended at every batch)
RUN_SECONDS = 20.0  # one poll reads at most about this long, then lets other inputs run
MAX_BACKOFF_SECONDS = 3600.0
MAX_SLEEP_SECONDS = 7 * 86400.0
_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
# Changing one of these points a polled input at other data: it starts reading from the beginning.
_WHERE_KEYS = ("hostname", "port", "database", "schema", "table", "incrementalColumn", "path")


class EventSpool(Protocol):
    """Where inputs put events (`IncomingSpool`)."""

    def append(self, org_id: int, events: Sequence[Any]) -> int:
        """Durably queue `events` for the organization; returns how many."""


class Notify(Protocol):
    """`PipelineNotifications.notify`."""

    def __call__(
        self,
        org_id: int,
        type: str,
        severity: str,
        message: str,
        *,
        description: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> object:
        """Record a notification for the organization."""


@dataclass(frozen=True)
class _Source:
    """What `_metadata` says about an input."""

    id: int
    org_id: int
    name: str
    type: str
    event_type: str

    @classmethod
    def of(cls, record: PipelineInput) -> _Source:
        event_type = (record.configuration or {}).get("eventType") or record.name
        return cls(record.id, record.org_id, record.name, record.type, str(event_type))


class InputService:
    """Inputs of an organization's pipeline: CRUD, the webhook, file uploads and polling."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        spool: EventSpool,
        *,
        notify: Notify | None = None,
        allowed_file_dirs: Sequence[Path] = (),
        uploads_dir: Path,
        webhook_url: Callable[[str], str] | None = None,
        on_appended: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.spool = spool
        self.notify = notify
        self.allowed_file_dirs = [Path(d).resolve() for d in allowed_file_dirs]
        self.uploads_dir = uploads_dir.resolve()
        # Where a webhook's token is posted: the dialect serving webhooks sets it (None: no URL shown).
        self.webhook_url = webhook_url
        # Called with the organization's id after events were queued (the worker wakes up at once).
        self.on_appended = on_appended
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    # ----- CRUD ------------------------------------------------------------------------------
    def list(self, principal: Principal, *, include_deleted: bool = False) -> builtins.list[PipelineInput]:
        """The organization's inputs, oldest first."""
        require_read(principal, "inputs")
        with self.db.session() as s:
            stmt = select(PipelineInput).where(PipelineInput.org_id == principal.org_id)
            if not include_deleted:
                stmt = stmt.where(PipelineInput.deleted_at.is_(None))
            stmt = without_hidden(stmt, self.sharing, principal, "pipeline_input", PipelineInput.id)
            return builtins.list(s.scalars(stmt.order_by(PipelineInput.id)))

    def get(self, principal: Principal, input_id: int) -> PipelineInput:
        """One input (not removed)."""
        require_read(principal, f"input {input_id}")
        with self.db.session() as s:
            return self._get(s, principal, input_id)

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        type: str,
        configuration: dict[str, Any],
        validate: bool = True,
    ) -> PipelineInput:
        """Add an input (admins); `validate` connects to a database input's table first."""
        principal.require(Action.MANAGE_SOURCES, "inputs")
        name, kind = _name(name), _type(type)
        shown, secrets = self._checked(kind, configuration, {}, validate=validate)
        now = utcnow()
        record = PipelineInput(
            org_id=principal.org_id,
            name=name,
            type=kind,
            configuration=shown,
            secrets_encrypted=self._encrypt(secrets),
            validated=validate and kind in REACHABLE_TYPES,
            status="active" if kind in REACHABLE_TYPES else UNREACHABLE,
            error_message=None if kind in REACHABLE_TYPES else _unreachable(kind),
            next_run_at=now if kind in POLLED_TYPES else None,
            cursor={},
        )
        if kind == "REST":
            token = pysecrets.token_urlsafe(24)
            record.token_hash = token_hash(token)
            record.token_encrypted = self.box.encrypt(token)
        with self.db.session() as s:
            self._unique_name(s, principal.org_id, name)
            s.add(record)
            s.flush()
            return record

    def update(
        self,
        principal: Principal,
        input_id: int,
        *,
        name: str | None = None,
        configuration: dict[str, Any] | None = None,
        validate: bool = True,
    ) -> PipelineInput:
        """Rename an input or replace its configuration (masked secrets keep their values)."""
        principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
        with self.db.session() as s:
            record = self._get(s, principal, input_id, "MODIFY")
            if name is not None and _name(name) != record.name:
                self._unique_name(s, principal.org_id, _name(name))
                record.name = _name(name)
            if configuration is not None:
                old = record.configuration or {}
                shown, secrets = self._checked(
                    record.type, configuration, self._secrets(record), validate=validate
                )
                if any(old.get(k) != shown.get(k) for k in _WHERE_KEYS):
                    record.cursor = {}
                record.configuration = shown
                record.secrets_encrypted = self._encrypt(secrets)
                if record.type in REACHABLE_TYPES:
                    record.validated = validate
            s.flush()
            return record

    def remove(self, principal: Principal, input_id: int) -> None:
        """Remove an input (kept as deleted); a webhook's token stops working."""
        principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
        with self.db.session() as s:
            record = self._get(s, principal, input_id, "MODIFY")
            record.deleted_at = utcnow()
            record.next_run_at = None

    def set_paused(self, principal: Principal, input_id: int, paused: bool) -> PipelineInput:
        """Pause an input (a webhook refuses events, polling stops) or resume it."""
        principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
        with self.db.session() as s:
            record = self._get(s, principal, input_id, "MODIFY")
            if record.paused and not paused and record.type in POLLED_TYPES:
                record.next_run_at = utcnow()
            record.paused = paused
            s.flush()
            return record

    def sleep_time(self, principal: Principal, input_id: int) -> float:
        """Seconds a polled input waits between reads."""
        return self.get(principal, input_id).sleep_seconds

    def set_sleep_time(self, principal: Principal, input_id: int, seconds: float) -> PipelineInput:
        """Change the wait between reads; the next read is due that long after the last."""
        principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            raise InvalidInputError("sleep_time", "must be a number of seconds") from None
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_SLEEP_SECONDS:
            raise InvalidInputError("sleep_time", f"must be between 0 and {MAX_SLEEP_SECONDS:g} seconds")
        with self.db.session() as s:
            record = self._get(s, principal, input_id, "MODIFY")
            record.sleep_seconds = seconds
            if record.type in POLLED_TYPES and record.error_count == 0:
                record.next_run_at = (record.last_run_at or utcnow()) + timedelta(seconds=seconds)
            s.flush()
            return record

    def shown_configuration(self, principal: Principal, record: PipelineInput) -> dict[str, Any]:
        """The configuration as shown: secrets masked; a webhook's token and URL included."""
        require_read(principal, f"input {record.id}")
        if record.org_id != principal.org_id:
            raise NotFoundError("input", record.id)
        shown = dict(record.configuration or {})
        if record.type == "REST" and record.token_encrypted:
            # The token is the webhook's credential: only those who manage inputs see it.
            if not principal.can(Action.MANAGE_SOURCES):
                shown["token"] = MASK
                return shown
            token = self.box.decrypt(record.token_encrypted)
            shown["token"] = token
            if self.webhook_url is not None:
                shown["url"] = self.webhook_url(token)
        return shown

    # ----- events in -------------------------------------------------------------------------
    def ingest(self, token: str, body: bytes) -> int:
        """The webhook: queue the events of `body` for the input whose token this is."""
        with self.db.session() as s:
            record = s.scalar(select(PipelineInput).where(PipelineInput.token_hash == token_hash(token)))
            if record is None or record.deleted_at is not None or record.type != "REST":
                raise AuthenticationError("unknown webhook token")
            if record.paused:
                raise ConflictError("input is paused")
            source = _Source.of(record)
        events = parse_json_events(body)
        if not events:
            return 0
        return self._append(source.org_id, _stamp(events, source))

    def add_file(self, principal: Principal, input_id: int, filename: str, data: bytes | Path) -> int:
        """Read an uploaded CSV (header row) or JSON file into a FILE input's events now."""
        principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
        with self.db.session() as s:
            record = self._get(s, principal, input_id, "MODIFY")
        if record.type != "FILE":
            raise InvalidInputError("input", "files can only be added to a FILE input")
        if record.paused:
            raise ConflictError("input is paused")
        if isinstance(data, Path):
            data = self._readable(data, [self.uploads_dir, *self.allowed_file_dirs], "data")
        fmt = (record.configuration or {}).get("fileFormat")
        # Read everything first: a bad line refuses the whole file, nothing half-queued.
        events = [e for chunk in iter_file_events(data, filename, fmt=fmt) for e in chunk]
        source = _Source.of(record)
        for start in range(0, len(events), FILE_CHUNK):
            self._append(source.org_id, _stamp(events[start : start + FILE_CHUNK], source))
        now = utcnow()
        self._set(record.id, last_run_at=now, last_success_at=now)
        return len(events)

    # ----- polling ---------------------------------------------------------------------------
    def poll_due(self, now: datetime | None = None) -> int:
        """Read every polled input that is due (any organization); returns how many events."""
        now = now or utcnow()
        with self.db.session() as s:
            due = builtins.list(
                s.scalars(
                    select(PipelineInput.id)
                    .where(
                        *_pollable(),
                        or_(PipelineInput.next_run_at.is_(None), PipelineInput.next_run_at <= now),
                    )
                    .order_by(PipelineInput.next_run_at, PipelineInput.id)
                )
            )
        total = 0
        for input_id in due:
            lock = self._lock(input_id)
            if not lock.acquire(blocking=False):
                continue
            try:
                if self._claim(input_id, now):
                    total += self._run(input_id, now)[0]
            finally:
                lock.release()
        return total

    def poll_now(self, principal: Principal, input_id: int) -> int:
        """Read a FILE or database input now (admins); a failure is recorded and raised."""
        principal.require(Action.MANAGE_SOURCES, f"input {input_id}")
        with self.db.session() as s:
            record = self._get(s, principal, input_id, "MODIFY")
        if record.type not in POLLED_TYPES:
            raise InvalidInputError("type", "only FILE, POSTGRESQL and MYSQL inputs are read by polling")
        if record.paused:
            raise ConflictError("input is paused")
        with self._lock(input_id):
            now = utcnow()
            self._set(input_id, next_run_at=now + LEASE)
            count, error = self._run(input_id, now)
        if error is not None:
            raise (
                error
                if isinstance(error, InvalidInputError)
                else SourceUnavailableError(f"input {record.name}", _message(error))
            )
        return count

    def _claim(self, input_id: int, now: datetime) -> bool:
        # One poller (of any process) wins the input until its lease ends.
        with self.db.session() as s:
            claimed = s.execute(
                update(PipelineInput)
                .where(
                    PipelineInput.id == input_id,
                    *_pollable(),
                    or_(PipelineInput.next_run_at.is_(None), PipelineInput.next_run_at <= now),
                )
                .values(next_run_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(claimed, "rowcount", 0) == 1)

    def _run(self, input_id: int, now: datetime) -> tuple[int, Exception | None]:
        with self.db.session() as s:
            record = s.get(PipelineInput, input_id)
        if record is None:
            return 0, None
        count = 0
        try:
            if record.type == "FILE":
                count, more = self._poll_folder(record, now)
            else:
                count, more = self._poll_table(record, now)
        except Exception as exc:  # a poll must never stop the poller; the input records why
            log.warning("input %s (%s) failed", record.id, record.type, exc_info=True)
            self._failed(record, exc, now)
            return count, exc
        self._set(
            input_id,
            status="active",
            error_count=0,
            error_message=None,
            last_run_at=now,
            last_success_at=now,
            next_run_at=now if more else now + timedelta(seconds=record.sleep_seconds),
        )
        return count, None

    def _poll_table(self, record: PipelineInput, now: datetime) -> tuple[int, bool]:
        source = _Source.of(record)
        cursor = dict(record.cursor or {})
        deadline = time.monotonic() + RUN_SECONDS
        total = 0
        password = self._secrets(record).get("password")
        with TableReader(record.type, record.configuration, password) as reader, reader.connect() as conn:
            table = reader.table(conn)
            while True:
                rows, position, more = reader.read_batch(conn, table, cursor.get("value"))
                conn.rollback()  # read only: end the transaction between batches
                if rows:
                    self._append(source.org_id, _stamp(rows, source))
                    cursor = {"value": position, "rows": int(cursor.get("rows", 0)) + len(rows)}
                    self._save_cursor(record.id, cursor, now)
                    total += len(rows)
                if not more:
                    return total, False
                if time.monotonic() > deadline:
                    return total, True

    def _poll_folder(self, record: PipelineInput, now: datetime) -> tuple[int, bool]:
        configuration = record.configuration or {}
        if not configuration.get("path"):
            return 0, False  # an upload-only input
        folder = self._folder(str(configuration["path"]))
        source = _Source.of(record)
        files: dict[str, Any] = dict((record.cursor or {}).get("files", {}))
        deadline = time.monotonic() + RUN_SECONDS
        total = 0
        for path in sorted(folder.iterdir()):
            if not _is_dropped_file(path) or (files.get(path.name) or {}).get("done"):
                continue
            if not self._allowed(path):  # a link out of the allowed directories is not read
                continue
            if time.monotonic() > deadline:
                return total, True
            total += self._read_file(record, source, path, files, now)
        return total, False

    def _read_file(
        self, record: PipelineInput, source: _Source, path: Path, files: dict[str, Any], now: datetime
    ) -> int:
        # Resumes after the events of the file already queued (a crash mid-file skips nothing).
        already = int((files.get(path.name) or {}).get("events", 0))
        seen = 0
        problems = FileProblems()
        fmt = (record.configuration or {}).get("fileFormat")
        state: dict[str, Any] = {"events": already}
        try:
            for chunk in iter_file_events(path, path.name, fmt=fmt, problems=problems):
                fresh = chunk[max(0, already - seen) :]
                seen += len(chunk)
                if fresh:
                    self._append(source.org_id, _stamp(fresh, source))
                    state = {"events": seen}
                    files[path.name] = state
                    self._save_cursor(record.id, {"files": files}, now)
        except (InvalidInputError, ValueError) as exc:  # the file is unreadable: skip it, say why
            state["error"] = exc.reason if isinstance(exc, InvalidInputError) else str(exc)
            self._tell(
                source, "INPUT_FILE_ERROR", "error", f"file {path.name} could not be read", state["error"]
            )
        if problems.count:
            self._tell(
                source,
                "INPUT_FILE_INVALID_LINES",
                "warning",
                f"file {path.name}: {problems.count} lines are not JSON objects and were skipped",
                problems.first,
            )
        files[path.name] = {**state, "done": True}
        self._save_cursor(record.id, {"files": files}, now)
        return max(0, seen - already)

    def _failed(self, record: PipelineInput, exc: Exception, now: datetime) -> None:
        errors = record.error_count + 1
        backoff = min(max(record.sleep_seconds, 5.0) * 2 ** min(errors - 1, 12), MAX_BACKOFF_SECONDS)
        message = _message(exc)
        self._set(
            record.id,
            status="error",
            error_count=errors,
            error_message=message,
            last_run_at=now,
            next_run_at=now + timedelta(seconds=backoff),
        )
        self._tell(_Source.of(record), "INPUT_ERROR", "error", f"input {record.name} failed", message)

    def _tell(self, source: _Source, kind: str, severity: str, message: str, description: str | None) -> None:
        if self.notify is None:
            return
        params = {"input_id": source.id, "input_name": source.name, "input_type": source.type}
        try:
            self.notify(source.org_id, kind, severity, message, description=description, params=params)
        except Exception:  # telling must not change what happened to the input
            log.exception("notification about input %s failed", source.id)

    def _append(self, org_id: int, events: builtins.list[dict[str, Any]]) -> int:
        count = self.spool.append(org_id, events)
        if self.on_appended is not None:
            try:
                self.on_appended(org_id)
            except Exception:  # the events are queued; a failed wake-up only delays them
                log.exception("waking the pipeline for organization %s failed", org_id)
        return count

    def _save_cursor(self, input_id: int, cursor: dict[str, Any], now: datetime) -> None:
        self._set(input_id, cursor=cursor, next_run_at=max(now, utcnow()) + LEASE)

    def _set(self, input_id: int, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(
                update(PipelineInput)
                .where(PipelineInput.id == input_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def _lock(self, input_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(input_id, threading.Lock())

    # ----- helpers ---------------------------------------------------------------------------
    def _get(self, s: Session, principal: Principal, input_id: int, mode: str = "READ_ONLY") -> PipelineInput:
        record = s.get(PipelineInput, input_id)
        if record is None or record.org_id != principal.org_id or record.deleted_at is not None:
            raise NotFoundError("input", input_id)
        require_access(self.sharing, principal, "pipeline_input", record.id, mode)
        return record

    def _unique_name(self, s: Session, org_id: int, name: str) -> None:
        taken = s.scalar(
            select(PipelineInput.id).where(
                PipelineInput.org_id == org_id, PipelineInput.name == name, PipelineInput.deleted_at.is_(None)
            )
        )
        if taken is not None:
            raise ConflictError(f"an input named {name!r} already exists", name=name)

    def _checked(
        self, kind: str, configuration: Any, old_secrets: dict[str, str], *, validate: bool
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The configuration to show and the secrets to encrypt, after checking its shape."""
        if not isinstance(configuration, dict):
            raise InvalidInputError("configuration", "must be an object")
        full = {k: old_secrets.get(k, v) if v == MASK else v for k, v in configuration.items()}
        if kind == "REST":  # shown from the token, never stored in the configuration
            full.pop("token", None)
            full.pop("url", None)
        if kind in DATABASE_TYPES:
            check_database_configuration(full)
            if validate:
                with TableReader(kind, full, full.get("password")) as reader:
                    reader.validate()
        elif kind == "FILE":
            if full.get("fileFormat") is not None:
                file_format("", str(full["fileFormat"]))
            if full.get("path") is not None:
                self._folder(str(full["path"]))
        elif kind not in REACHABLE_TYPES:
            validate_vendor_configuration(kind, full)
        return split_secrets(full)

    def _folder(self, raw: str) -> Path:
        folder = self._readable(Path(raw), self.allowed_file_dirs, "path")
        if not folder.is_dir():
            raise InvalidInputError("path", f"{raw} is not a folder")
        return folder

    def _allowed(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(root) for root in self.allowed_file_dirs)

    def _readable(self, path: Path, roots: Sequence[Path], field: str) -> Path:
        resolved = path.resolve()
        if not any(resolved.is_relative_to(root) for root in roots):
            allowed = ", ".join(str(r) for r in roots) or "(none configured)"
            raise InvalidInputError(field, f"{path} is not under an allowed directory: {allowed}")
        return resolved

    def _secrets(self, record: PipelineInput) -> dict[str, str]:
        if not record.secrets_encrypted:
            return {}
        return dict(json.loads(self.box.decrypt(record.secrets_encrypted)))

    def _encrypt(self, secrets: dict[str, str]) -> str | None:
        return self.box.encrypt(json.dumps(secrets)) if secrets else None


def _stamp(events: builtins.list[dict[str, Any]], source: _Source) -> builtins.list[dict[str, Any]]:
    """Give each event its `_metadata` (fields the event already carries there are kept)."""
    base = {
        "event_type": source.event_type,
        "input_label": source.name,
        "input_id": source.id,
        "input_type": source.type,
        "received_at": utcnow().isoformat(),
    }
    for event, event_uuid in zip(events, random_uuids(len(events)), strict=True):
        own = event.get("_metadata")
        metadata = {**base, "uuid": event_uuid}
        if isinstance(own, dict):
            metadata.update(own)
        event["_metadata"] = metadata
    return events


def random_uuids(n: int) -> builtins.list[str]:
    """N random (version 4) UUIDs as text, from one read of the system's random source.

    `uuid.uuid4()` reads the random source once per UUID, a system call that cost the webhook
    more than everything else it does per event.
    """
    digits = os.urandom(16 * n).hex()
    out = []
    for start in range(0, 32 * n, 32):
        h = digits[start : start + 32]
        variant = _VARIANT[h[16]]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return out


# The RFC 4122 variant: the high bits of the 17th hex digit are 10 (8, 9, a or b).
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _pollable() -> tuple[Any, ...]:
    return (
        PipelineInput.type.in_(POLLED_TYPES),
        PipelineInput.deleted_at.is_(None),
        PipelineInput.paused.is_(False),
        PipelineInput.status != UNREACHABLE,
    )


def _is_dropped_file(path: Path) -> bool:
    # Writers should write under a hidden or .tmp/.part name and rename when done.
    name = path.name
    return path.is_file() and not name.startswith(".") and not name.endswith((".tmp", ".part"))


def _message(exc: Exception) -> str:
    if isinstance(exc, OpenlyticsError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _unreachable(kind: str) -> str:
    return (
        f"the {kind} source cannot be reached from this server (no outbound access to the vendor); "
        "the input is stored but reads nothing"
    )


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("name", "is required")
    if len(name.strip()) > 255:
        raise InvalidInputError("name", "is longer than 255 characters")
    return name.strip()


def _type(kind: Any) -> str:
    if not isinstance(kind, str) or not _TYPE.match(kind.strip().upper()):
        raise InvalidInputError("type", "must be a type name like REST, FILE, POSTGRESQL, MYSQL or S3")
    return kind.strip().upper()
