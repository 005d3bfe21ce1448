"""The durable incoming queue of the pipeline: JSON-lines files per organization.

Layout under `root`::

    <org_id>/tmp/                    files being written (never read)
    <org_id>/incoming/<name>.jsonl   appended batches, waiting; name = <time_ns>-<random>-<count>
    <org_id>/claimed/<batch_id>/     files of a batch being processed; batch_id =
                                     <host>~<pid>~<random>: who claimed it

`append` writes a temporary file, fsyncs it and renames it into `incoming/` (atomic: a batch is
either wholly there or not). The event count is part of the file name, so `pending` lists a
directory and reads no file. `claim` renames the oldest files (in name order, i.e. append order)
into a batch directory; `ack` deletes it, `release` renames its files back with their old names
(so order is kept). `recover` (at start and then periodically, in any number of processes) releases
the claimed batches of processes that are gone: on this host those whose process no longer exists;
otherwise those the caller's `is_gone(host, pid, seconds since the claim)` says are gone (the
application asks the workers' heartbeats), or without one, on other hosts (a shared spool
directory), those untouched for `STALE_CLAIM_SECONDS`; never a batch a live process is working on.
The spool knows nothing of databases: whoever knows who is alive passes the predicate.

Each file name is unique and a file is never split: a batch records how many of its events came
from each file (`SpooledBatch.file_events`), so progress can be recorded per file and survives a
release and a new claim that groups files differently.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # orjson is several times faster; the standard library is the fallback
    import orjson

    def dumps(value: Any) -> bytes:
        """One JSON document as UTF-8 bytes."""
        return orjson.dumps(value, default=str)

    def loads(data: bytes | str) -> Any:
        """One JSON document."""
        return orjson.loads(data)

except ImportError:  # pragma: no cover - orjson is installed in development

    def dumps(value: Any) -> bytes:
        """One JSON document as UTF-8 bytes."""
        return json.dumps(value, default=str, separators=(",", ":")).encode()

    def loads(data: bytes | str) -> Any:
        """One JSON document."""
        return json.loads(data)


log = logging.getLogger(__name__)

SUFFIX = ".jsonl"


@dataclass
class SpooledBatch:
    """Events claimed from one organization's spool, to be acked (done) or released (retry).

    `lines` holds each event as it is stored (one line of JSON, no newline), beside `events`;
    `file_events[i]` is how many of the events (in order) came from `files[i]`.
    """

    org_id: int
    batch_id: str
    events: list[Any]
    files: list[str] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    file_events: list[int] = field(default_factory=list)

    def file_of_events(self) -> list[str]:
        """The spool file of each event, in order."""
        return [name for name, n in zip(self.files, self.file_events, strict=True) for _ in range(n)]


# (host, pid, seconds since the claim) -> whether the process that claimed a batch is gone
ClaimerGone = Callable[[str, int, float], bool]


def _count_of(name: str) -> int:
    try:
        return int(name[: -len(SUFFIX)].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


class IncomingSpool:
    """Per-organization durable queue of incoming events (see the module docstring)."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        root.mkdir(parents=True, exist_ok=True)

    def _dir(self, org_id: int, kind: str) -> Path:
        path = self.root / str(int(org_id)) / kind
        path.mkdir(parents=True, exist_ok=True)
        return path

    def append(self, org_id: int, events: Sequence[Any]) -> int:
        """Durably queue `events` (in order) for the organization; returns how many."""
        if not events:
            return 0
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}-{len(events)}{SUFFIX}"
        tmp = self._dir(org_id, "tmp") / f"{_HOST}~{os.getpid()}~{name}"
        data = b"\n".join(dumps(event) for event in events) + b"\n"
        with open(tmp, "wb") as handle:
            handle.write(data)
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, self._dir(org_id, "incoming") / name)
        return len(events)

    def _incoming(self, org_id: int) -> list[str]:
        path = self.root / str(int(org_id)) / "incoming"
        try:
            return sorted(n for n in os.listdir(path) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return []

    def claim(self, org_id: int, max_events: int = 5000) -> SpooledBatch | None:
        """The oldest waiting events (whole files, at least one, up to `max_events`), or None."""
        incoming = self._dir(org_id, "incoming")
        batch_id = f"{_HOST}~{os.getpid()}~{uuid.uuid4().hex}"
        target = self._dir(org_id, "claimed") / batch_id
        taken: list[str] = []
        total = 0
        for name in self._incoming(org_id):
            count = _count_of(name)
            if taken and total + count > max_events:
                break
            target.mkdir(exist_ok=True)
            try:
                os.rename(incoming / name, target / name)
            except FileNotFoundError:  # another claimer took it
                continue
            taken.append(name)
            total += count
            if total >= max_events:
                break
        if not taken:
            shutil.rmtree(target, ignore_errors=True)
            return None
        lines: list[bytes] = []
        file_events: list[int] = []
        for name in taken:
            read = _read_lines(target / name)
            lines.extend(read)
            file_events.append(len(read))
        events = [loads(line) for line in lines]
        return SpooledBatch(
            org_id=org_id, batch_id=batch_id, events=events, files=taken, lines=lines, file_events=file_events
        )

    def ack(self, batch: SpooledBatch) -> None:
        """The batch is done: forget its files."""
        shutil.rmtree(self.root / str(batch.org_id) / "claimed" / batch.batch_id, ignore_errors=True)

    def release(self, batch: SpooledBatch) -> None:
        """Put the batch's files back in the incoming queue, in their old places."""
        self._release_dir(self.root / str(batch.org_id) / "claimed" / batch.batch_id, batch.org_id)

    def _release_dir(self, claimed: Path, org_id: int) -> int:
        incoming = self._dir(org_id, "incoming")
        moved = 0
        for path in sorted(claimed.glob(f"*{SUFFIX}")):
            os.replace(path, incoming / path.name)
            moved += _count_of(path.name)
        shutil.rmtree(claimed, ignore_errors=True)
        return moved

    def recover(self, is_gone: ClaimerGone | None = None, *, keep_own: bool = False) -> int:
        """Release the batches of processes that are gone, drop their half-written files; events
        released. Safe while other processes work on the same spool.

        `is_gone`: who decides about claimers other than dead processes of this host (module
        docstring). `keep_own`: this process's own claims are in flight (a periodic pass), not
        leftovers of an earlier process that had its pid (a pass at start)."""
        released = 0
        for org_id in self._orgs():
            for claimed in sorted((self.root / str(org_id) / "claimed").glob("*")):
                if claimed.is_dir() and not _claimer_alive(claimed, is_gone, keep_own):
                    released += self._release_dir(claimed, org_id)
            for tmp in (self.root / str(org_id) / "tmp").glob("*"):
                if not _writer_alive(tmp):
                    tmp.unlink(missing_ok=True)
        if released:
            log.warning("pipeline spool: %d claimed events of processes that are gone released", released)
        return released

    def claimed_by_others(self, org_id: int) -> bool:
        """Whether batches of the organization are claimed by another process (alive or not)."""
        claimed = self.root / str(int(org_id)) / "claimed"
        try:
            return any(not name.startswith(_own_prefix()) for name in os.listdir(claimed))
        except FileNotFoundError:
            return False

    def pending(self, org_id: int) -> int:
        """Events waiting in the incoming queue (not counting batches being processed)."""
        return sum(_count_of(n) for n in self._incoming(org_id))

    def in_flight(self, org_id: int) -> int:
        """Events of claimed, not yet acked batches."""
        claimed = self.root / str(int(org_id)) / "claimed"
        return sum(_count_of(p.name) for p in claimed.glob(f"*/*{SUFFIX}"))

    def orgs_with_pending(self) -> list[int]:
        """Organizations with events waiting."""
        return [org_id for org_id in self._orgs() if self._incoming(org_id)]

    def purge(self, org_id: int) -> int:
        """Delete the organization's waiting events; returns how many."""
        incoming = self.root / str(int(org_id)) / "incoming"
        purged = 0
        for name in self._incoming(org_id):
            try:
                (incoming / name).unlink()
            except FileNotFoundError:
                continue
            purged += _count_of(name)
        return purged

    def _orgs(self) -> Iterator[int]:
        for entry in sorted(self.root.iterdir()):
            if entry.is_dir() and entry.name.isdigit():
                yield int(entry.name)


# A claim by another host is taken for abandoned after this long without a touch of its directory.
STALE_CLAIM_SECONDS = 15 * 60
_HOST = socket.gethostname().replace("~", "-")


def _own_prefix() -> str:
    return f"{_HOST}~{os.getpid()}~"


def _claimer_alive(claimed: Path, is_gone: ClaimerGone | None, keep_own: bool) -> bool:
    """Whether the process that claimed this batch may still be working on it."""
    parts = claimed.name.split("~", 2)
    if is_gone is None or len(parts) != 3 or not parts[1].isdigit():
        if keep_own and claimed.name.startswith(_own_prefix()):
            return True
        return _owner_alive(claimed.name, claimed)
    host, pid = parts[0], int(parts[1])
    if host == _HOST and pid == os.getpid():
        return keep_own
    if host == _HOST and not _pid_exists(pid):
        return False
    try:
        age = time.time() - claimed.stat().st_mtime
    except FileNotFoundError:
        return True  # released or acked meanwhile
    return not is_gone(host, pid, age)


def _writer_alive(tmp: Path) -> bool:
    """Whether the process writing this temporary file may still be writing it."""
    return _owner_alive(tmp.name, tmp)


def _owner_alive(name: str, path: Path) -> bool:
    parts = name.split("~", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False  # written before claims carried their owner: its process is gone
    host, pid = parts[0], int(parts[1])
    if host != _HOST:
        try:
            return time.time() - path.stat().st_mtime < STALE_CLAIM_SECONDS
        except FileNotFoundError:
            return True  # released or acked meanwhile
    if pid == os.getpid():
        return False  # this process is (re)starting: nothing of its own is in flight
    return _pid_exists(pid)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_lines(path: Path) -> list[bytes]:
    with open(path, "rb") as handle:
        return [line.rstrip(b"\r\n") for line in handle.read().split(b"\n") if line.strip()]
