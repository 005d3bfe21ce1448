"""Long-lived transform processes: an organization's Code Engine kept running between batches.

    pool = TransformPool(sandbox, limits)
    lines = pool.run(org_id, header, event_lines)   # one result line per event line, in order
    pool.close_all()                                 # server shutdown

Starting the sandboxed interpreter and importing the organization's modules costs about a fifth of
a second; a process per batch spent more time starting than transforming. The pool keeps up to
`per_org` processes per organization (`_transform_worker.serve`), each for one version of the code
and secrets (the `header`): a batch written to its standard input, the results read back.

- A different header (modules or secrets changed) retires the organization's older processes.
- Each exchange has a deadline (`limits.wall_seconds`); a process that misses it is killed, and
  the batch fails with `TransformProcessError` (a wall-clock limit).
- A process that dies (memory limit, a crash) fails its batch. If it had already served batches,
  the batch is tried once more on a fresh process first: its CPU seconds count over its whole life
  and its memory may hold what earlier batches left, so its death need not be this batch's fault.
- Processes are retired after `max_batches` batches, `max_age_seconds`, or half their CPU seconds
  (bounded by the time spent in exchanges), and closed after
  `idle_seconds` without work (checked whenever the pool is used, and by `close_idle`).

Module state of the transform (globals) survives between the batches of one process, as it does
in the vendor's Code Engine; it is never shared across organizations or code versions.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from openlytics.runtime.sandbox import Limits, Program, Sandbox, SandboxProcess, SandboxResult

log = logging.getLogger(__name__)

WORKER = Program.entry_point("openlytics.runtime._transform_worker", "serve")


def _read_lines(stream: IO[bytes], count: int) -> bytes:
    """Read until `count` newlines arrived or the stream ended (in large chunks, not line by line)."""
    chunks: list[bytes] = []
    seen = 0
    while seen < count:
        chunk = stream.read1(1 << 20)  # type: ignore[attr-defined]
        if not chunk:
            break
        seen += chunk.count(b"\n")
        chunks.append(chunk)
    return b"".join(chunks)


class TransformProcessError(RuntimeError):
    """A batch's process failed; `result` says how it ended."""

    def __init__(self, result: SandboxResult, reason: str = "") -> None:
        super().__init__(reason or f"the transform process ended (exit code {result.return_code})")
        self.result = result
        self.reason = reason


@dataclass(eq=False)
class _Worker:
    org_id: int
    key: str
    process: SandboxProcess
    batches: int = 0
    busy_seconds: float = 0.0  # time spent in exchanges: a bound on the CPU seconds it used
    last_used: float = field(default_factory=time.monotonic)
    retired: bool = False


class TransformPool:
    """Keeps transform processes per organization and code version (module docstring)."""

    def __init__(
        self,
        sandbox: Sandbox,
        limits: Limits,
        *,
        per_org: int = 2,
        idle_seconds: float = 120.0,
        max_batches: int = 500,
        max_age_seconds: float = 900.0,
    ) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.per_org = max(1, per_org)
        self.idle_seconds = idle_seconds
        self.max_batches = max(1, max_batches)
        self.max_age_seconds = max_age_seconds
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._idle: dict[int, list[_Worker]] = {}  # org -> idle workers
        self._busy: dict[int, int] = {}  # org -> workers running a batch
        self._reaper: threading.Thread | None = None
        self._stopping = threading.Event()

    # ----- running ---------------------------------------------------------------------------------
    def run(self, org_id: int, header: bytes, lines: Sequence[bytes]) -> list[bytes]:
        """Transform `lines` (JSON events, no newlines) with the code of `header` (a JSON line).

        Returns one result line per event line; raises TransformProcessError when the process
        failed (after one retry on a fresh process when an older one died).
        """
        if not lines:
            return []
        key = hashlib.sha256(header).hexdigest()
        worker = self._acquire(org_id, key, header)
        try:
            results = self._exchange(worker, lines)
        except TransformProcessError:
            self._release(worker, keep=False)
            if worker.batches == 0:
                raise
            log.info(
                "transform process of organization %s died after %d batches; trying a fresh one",
                org_id,
                worker.batches,
            )
            worker = self._acquire(org_id, key, header, fresh=True)
            try:
                results = self._exchange(worker, lines)
            except BaseException:
                self._release(worker, keep=False)
                raise
        except BaseException:
            self._release(worker, keep=False)
            raise
        self._release(worker, keep=True)
        return results

    def _exchange(self, worker: _Worker, lines: Sequence[bytes]) -> list[bytes]:
        process = worker.process
        deadline = threading.Timer(self.limits.wall_seconds, process.kill)
        deadline.daemon = True
        deadline.start()
        started = time.monotonic()
        try:
            payload = b"".join([b"%d\n" % len(lines), b"\n".join(lines), b"\n"])
            try:
                process.stdin.write(payload)
                process.stdin.flush()
                data = _read_lines(process.stdout, len(lines))
            except (BrokenPipeError, ValueError, OSError):
                data = b""
        finally:
            deadline.cancel()
            worker.busy_seconds += time.monotonic() - started
        if data.count(b"\n") == len(lines) and data.endswith(b"\n"):
            worker.batches += 1
            return data[:-1].split(b"\n")
        self._drop(worker)
        raise TransformProcessError(worker.process.close(timeout=2.0))

    # ----- the processes ---------------------------------------------------------------------------
    def _acquire(self, org_id: int, key: str, header: bytes, *, fresh: bool = False) -> _Worker:
        retired: list[_Worker] = []
        worker: _Worker | None
        with self._slots:
            while True:
                retired += self._sweep_locked(org_id, key)
                idle = self._idle.get(org_id, [])
                if idle and not fresh:
                    worker = idle.pop()
                    self._busy[org_id] = self._busy.get(org_id, 0) + 1
                    break
                if self._busy.get(org_id, 0) + len(idle) < self.per_org or idle:
                    if idle:  # a fresh one is wanted: make room
                        retired.append(idle.pop(0))
                    self._busy[org_id] = self._busy.get(org_id, 0) + 1
                    worker = None
                    break
                self._slots.wait(timeout=1.0)
        self._close(retired)
        if worker is not None:
            return worker
        self._start_reaper()
        try:
            process = self.sandbox.start(WORKER, limits=self.limits, network=False)
            process.stdin.write(header.rstrip(b"\n") + b"\n")
            process.stdin.flush()
        except BaseException:
            with self._slots:
                self._busy[org_id] -= 1
                self._slots.notify_all()
            raise
        return _Worker(org_id, key, process)

    def _release(self, worker: _Worker, *, keep: bool) -> None:
        now = time.monotonic()
        worker.last_used = now
        cpu_budget = self.limits.cpu_seconds
        expired = (
            worker.batches >= self.max_batches
            or now - worker.process.started > self.max_age_seconds
            or (cpu_budget is not None and worker.busy_seconds > cpu_budget / 2)
            or not worker.process.alive()
        )
        close = not keep or worker.retired or expired
        with self._slots:
            self._busy[worker.org_id] = self._busy.get(worker.org_id, 1) - 1
            if not close:
                self._idle.setdefault(worker.org_id, []).append(worker)
            self._slots.notify_all()
        if close:
            self._close([worker])

    def _drop(self, worker: _Worker) -> None:
        worker.retired = True

    def _sweep_locked(self, org_id: int, key: str) -> list[_Worker]:
        """Take out idle workers of an older code version of `org_id`, and any idle too long."""
        now = time.monotonic()
        out: list[_Worker] = []
        for org, idle in list(self._idle.items()):
            keep = []
            for worker in idle:
                stale = org == org_id and worker.key != key
                if stale or now - worker.last_used > self.idle_seconds:
                    out.append(worker)
                else:
                    keep.append(worker)
            if keep:
                self._idle[org] = keep
            else:
                self._idle.pop(org, None)
        return out

    def close_idle(self) -> int:
        """Close processes idle longer than `idle_seconds`; how many."""
        with self._slots:
            out = self._sweep_locked(-1, "")
        self._close(out)
        return len(out)

    def close_org(self, org_id: int) -> None:
        """Close the organization's idle processes (its code changed or it is gone)."""
        with self._slots:
            out = self._idle.pop(org_id, [])
        self._close(out)

    def _start_reaper(self) -> None:
        """A thread that closes idle processes while the pool has any."""
        with self._lock:
            if self._reaper is not None and self._reaper.is_alive():
                return
            self._stopping = threading.Event()
            self._reaper = threading.Thread(
                target=self._reap_idle,
                args=(self._stopping,),
                name="openlytics-transform-reaper",
                daemon=True,
            )
            self._reaper.start()

    def _reap_idle(self, stopping: threading.Event) -> None:
        while not stopping.wait(max(1.0, self.idle_seconds / 2)):
            try:
                self.close_idle()
            except Exception:  # the reaper must outlive a failed close
                log.exception("closing idle transform processes failed")

    def close_all(self) -> None:
        """Close every idle process and stop the reaper (server shutdown; busy ones end with
        their batch)."""
        self._stopping.set()
        with self._slots:
            out = [worker for idle in self._idle.values() for worker in idle]
            self._idle.clear()
        self._close(out)

    def processes(self, org_id: int) -> int:
        """Idle plus busy processes of the organization."""
        with self._slots:
            return len(self._idle.get(org_id, [])) + self._busy.get(org_id, 0)

    @staticmethod
    def _close(workers: list[_Worker]) -> None:
        for worker in workers:
            try:
                worker.process.close(timeout=2.0)
            except Exception:  # closing is best effort: the process group is killed regardless
                log.exception("closing a transform process failed")
