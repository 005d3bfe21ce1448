"""A sandbox for user Python: a subprocess with limits, a scratch directory and nothing of the server.

    sandbox = Sandbox(hidden_paths=[settings.data_dir])
    result = sandbox.run(Program.file("main.py"), files={"main.py": code}, limits=Limits(cpu_seconds=5))

What every run gets (see docs/security.md):
- the server's interpreter in isolated mode (`python -I -u`), a fresh working directory holding the
  caller's files (deleted afterwards), and an environment built from scratch plus the caller's variables;
- limits: CPU seconds, address space, open files, file size (and processes when it runs as another
  user), a wall-clock timeout that kills the whole process group, and a cap on captured output.
When the server runs as root it also gets (Linux namespaces, through `_sandbox_boot.py`): an
unprivileged user (`nobody`), a PID namespace with its own /proc, a mount namespace in which the
hidden paths (the data directory, the server's home, other runs' directories) are empty, and, when
the program gets no network, an empty network namespace.

This module imports nothing of openlytics: scripts, dataset conversions and event transforms reuse it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

BOOT = Path(__file__).with_name("_sandbox_boot.py")
MEMORY_EXIT_CODE = 137  # what `_sandbox_boot` exits with on MemoryError
MIB = 1024 * 1024
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
READ_CHUNK = 65536


@dataclass(frozen=True)
class Limits:
    """What one run may use; None leaves a resource unlimited."""

    cpu_seconds: int | None = 60
    wall_seconds: float = 120.0
    memory_mb: int | None = 2048
    max_output_bytes: int = 1_000_000  # per stream (stdout, stderr)
    open_files: int | None = 256
    file_mb: int | None = 4096  # the largest file the program may write
    processes: int | None = 256  # processes and threads of the sandbox user (only when dropping to it)

    def lowered(
        self, *, cpu_seconds: float | None, wall_seconds: float | None, memory_mb: int | None
    ) -> Limits:
        """These limits, lowered (never raised) by per-run values."""

        def lower(current: float | None, wanted: float | None) -> float | None:
            if wanted is None:
                return current
            return wanted if current is None else min(current, wanted)

        cpu = lower(self.cpu_seconds, cpu_seconds)
        memory = lower(self.memory_mb, memory_mb)
        return Limits(
            cpu_seconds=None if cpu is None else max(1, int(cpu)),
            wall_seconds=float(lower(self.wall_seconds, wall_seconds) or self.wall_seconds),
            memory_mb=None if memory is None else int(memory),
            max_output_bytes=self.max_output_bytes,
            open_files=self.open_files,
            file_mb=self.file_mb,
            processes=self.processes,
        )


@dataclass(frozen=True)
class Program:
    """What to run: a file of the working directory, or `module:entry` of an importable package."""

    path: str | None = None
    module: str | None = None
    entry: str = "main"

    @classmethod
    def file(cls, name: str) -> Program:
        """Run a file of the working directory as `__main__`."""
        return cls(path=name)

    @classmethod
    def entry_point(cls, module: str, entry: str = "main") -> Program:
        """Import `module` and call `entry()`; an int it returns is the exit code."""
        return cls(module=module, entry=entry)

    def as_config(self) -> dict[str, str]:
        """The boot script's description of the program."""
        if self.path is not None:
            return {"path": self.path}
        if self.module is None:
            raise ValueError("a Program needs a path or a module")
        return {"module": self.module, "entry": self.entry}


@dataclass(frozen=True)
class SandboxResult:
    """How a run ended and what it printed."""

    stdout: str
    stderr: str
    return_code: int | None  # negative: killed by that signal
    duration: float  # wall seconds
    cpu_seconds: float
    timed_out: bool = False  # wall-clock or CPU limit
    limit: str | None = None  # "wall" | "cpu" | "memory" when a limit ended the run
    output_truncated: bool = False
    outputs: list[str] = field(default_factory=list)  # names of the requested outputs produced

    @property
    def memory_exceeded(self) -> bool:
        """The program ran out of its memory limit."""
        return self.limit == "memory"

    @property
    def ok(self) -> bool:
        """Exit code 0 and no limit hit."""
        return self.return_code == 0 and self.limit is None


@dataclass
class _Capture:
    """One output stream read into memory up to a cap; the rest is read and counted, not kept."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def drain(self, stream: IO[bytes]) -> None:
        while chunk := stream.read1(READ_CHUNK):  # type: ignore[attr-defined]
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[output truncated: {self.dropped} more bytes not kept]\n"
        return text


class Sandbox:
    """Runs programs under limits, isolated from the server as far as the platform allows."""

    def __init__(
        self,
        *,
        hidden_paths: Sequence[Path] = (),
        user: str = "nobody",
        base_dir: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        self.python = python
        self.base_dir = (base_dir or Path(tempfile.gettempdir()) / "openlytics-sandbox").resolve()
        self.isolated = os.geteuid() == 0 and sys.platform.startswith("linux")
        self.uid, self.gid = -1, -1
        if self.isolated:
            entry = pwd.getpwnam(user)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
        else:
            log.warning(
                "the sandbox runs as the server's own user (not root): limits and a clean environment "
                "apply, but user code can read what the server can read"
            )
        home = Path.home().resolve()
        candidates = [p.resolve() for p in (*hidden_paths, home, self.base_dir)]
        # Never cover the root, nor a directory holding the runs' own directories.
        self.hidden_paths = [
            p
            for p in candidates
            if p != Path("/") and (p == self.base_dir or not self.base_dir.is_relative_to(p))
        ]
        self._running: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def run(
        self,
        program: Program,
        *,
        limits: Limits,
        files: Mapping[str, bytes | Path] | None = None,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        network: bool = True,
        outputs: Mapping[str, Path] | None = None,
    ) -> SandboxResult:
        """Run `program` in a fresh directory holding `files`; move `outputs` (name -> path) out after."""
        workdir = self._make_workdir(files)
        try:
            result = self._execute(program, workdir, limits, env or {}, args, network)
            produced = []
            for name, destination in (outputs or {}).items():
                source = workdir / name
                if source.is_file() and not source.is_symlink():
                    shutil.move(source, destination)
                    produced.append(name)
            return _with_outputs(result, produced)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def start(
        self,
        program: Program,
        *,
        limits: Limits,
        files: Mapping[str, bytes | Path] | None = None,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        network: bool = True,
    ) -> SandboxProcess:
        """Start `program` and leave it running, talked to through its standard input and output.

        The same isolation and limits as `run`, except the wall-clock limit: a long-lived program
        has none, its caller sets deadlines on each exchange (`SandboxProcess.kill`). CPU seconds
        count over the program's whole life.
        """
        workdir = self._make_workdir(files)
        try:
            process = self._spawn(program, workdir, limits, env or {}, args, network, stdin=subprocess.PIPE)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return SandboxProcess(self, process, workdir, limits)

    def terminate_all(self) -> None:
        """Kill every running program (server shutdown)."""
        with self._lock:
            processes = list(self._running.values())
        for process in processes:
            _kill_group(process)

    # ----- internals -----------------------------------------------------------------------------------
    def _make_workdir(self, files: Mapping[str, bytes | Path] | None = None) -> Path:
        """A fresh run directory holding `files` (removed again when placing them fails)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        # Others may pass through but not list: a run's directory name is its only key.
        self.base_dir.chmod(0o711)
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=self.base_dir))
        try:
            if self.isolated:
                os.chown(workdir, self.uid, self.gid)
            for name, content in (files or {}).items():
                self._place(workdir, name, content)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return workdir

    def _place(self, workdir: Path, name: str, content: bytes | Path) -> None:
        target = (workdir / name).resolve()
        if target.parent != workdir.resolve() or name.startswith("."):
            raise ValueError(f"sandbox file names must be plain names: {name!r}")
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
        if self.isolated:
            os.chown(target, self.uid, self.gid)

    def _environment(self, workdir: Path, extra: Mapping[str, str]) -> dict[str, str]:
        base = {
            "PATH": BASE_PATH,
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "USER": "sandbox",
            "LOGNAME": "sandbox",
            # Arrow's default allocators reserve a gigabyte of address space up front, which an
            # address-space limit counts; the system allocator reserves nothing.
            "ARROW_DEFAULT_MEMORY_POOL": "system",
        }
        return base | dict(extra)

    def _config(
        self, program: Program, workdir: Path, limits: Limits, args: Sequence[str], network: bool
    ) -> str:
        needed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p}
        needed |= {Path(p).resolve() for p in sys.path if p and Path(p).exists()}
        needed |= {Path(self.python).resolve().parent, workdir.resolve()}
        hide = [str(p) for p in self.hidden_paths]
        keep = sorted(
            str(p) for p in needed if any(p != h and p.is_relative_to(h) for h in self.hidden_paths)
        )
        config = {
            "isolate": self.isolated,
            "network": network,
            "uid": self.uid,
            "gid": self.gid,
            "cwd": str(workdir),
            "hide": hide,
            "keep": keep,
            "program": program.as_config(),
            "args": list(args),
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "memory_bytes": None if limits.memory_mb is None else limits.memory_mb * MIB,
                "open_files": limits.open_files,
                "file_bytes": None if limits.file_mb is None else limits.file_mb * MIB,
                # Counted per user across the machine: only meaningful for the sandbox's own user.
                "processes": limits.processes if self.isolated else None,
            },
        }
        return json.dumps(config)

    def _spawn(
        self,
        program: Program,
        workdir: Path,
        limits: Limits,
        env: Mapping[str, str],
        args: Sequence[str],
        network: bool,
        *,
        stdin: int,
    ) -> subprocess.Popen[bytes]:
        command = [self.python, "-I", "-u", str(BOOT), self._config(program, workdir, limits, args, network)]
        process = subprocess.Popen(  # noqa: S603 - our interpreter and boot script, no shell
            command,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=self._environment(workdir, env),
            start_new_session=True,
            close_fds=True,
        )
        with self._lock:
            self._running[process.pid] = process
        return process

    def _reap(self, process: subprocess.Popen[bytes]) -> tuple[int, float]:
        """Wait for the program to end: its exit code and CPU seconds; kills what it left behind."""
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            with self._lock:
                self._running.pop(process.pid, None)
        process.returncode = os.waitstatus_to_exitcode(status)
        _kill_group(process)  # whatever the program left behind in its group
        return process.returncode, usage.ru_utime + usage.ru_stime

    def _execute(
        self,
        program: Program,
        workdir: Path,
        limits: Limits,
        env: Mapping[str, str],
        args: Sequence[str],
        network: bool,
    ) -> SandboxResult:
        out, err = _Capture(limits.max_output_bytes), _Capture(limits.max_output_bytes)
        started = time.monotonic()
        process = self._spawn(program, workdir, limits, env, args, network, stdin=subprocess.DEVNULL)
        readers = [
            threading.Thread(target=capture.drain, args=(stream,), daemon=True)
            for capture, stream in ((out, process.stdout), (err, process.stderr))
        ]
        for reader in readers:
            reader.start()
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            _kill_group(process)

        timer = threading.Timer(limits.wall_seconds, on_timeout)
        timer.daemon = True
        timer.start()
        try:
            return_code, cpu = self._reap(process)
        finally:
            timer.cancel()
        for reader in readers:
            reader.join(timeout=5)
        limit = _limit_hit(return_code, timed_out.is_set(), cpu, limits, err.text())
        return SandboxResult(
            stdout=out.text(),
            stderr=err.text(),
            return_code=return_code,
            duration=time.monotonic() - started,
            cpu_seconds=cpu,
            timed_out=limit in ("wall", "cpu"),
            limit=limit,
            output_truncated=bool(out.dropped or err.dropped),
        )


class SandboxProcess:
    """A program started by `Sandbox.start`: write to `stdin`, read from `stdout`, then `close`.

    Its standard error is collected in the background (up to the output cap) for the result.
    """

    def __init__(
        self, sandbox: Sandbox, process: subprocess.Popen[bytes], workdir: Path, limits: Limits
    ) -> None:
        self._sandbox = sandbox
        self._process = process
        self._workdir = workdir
        self._limits = limits
        self._started = time.monotonic()
        self._killed_by_caller = False
        self._result: SandboxResult | None = None
        self._err = _Capture(limits.max_output_bytes)
        self._reader = threading.Thread(target=self._err.drain, args=(process.stderr,), daemon=True)
        self._reader.start()
        assert process.stdin is not None and process.stdout is not None
        self.stdin: IO[bytes] = process.stdin
        self.stdout: IO[bytes] = process.stdout

    @property
    def pid(self) -> int:
        """The process id (of the boot process the server sees)."""
        return self._process.pid

    @property
    def started(self) -> float:
        """When it started (time.monotonic())."""
        return self._started

    def alive(self) -> bool:
        """Whether it still runs."""
        return self._result is None and self._process.poll() is None

    def kill(self) -> None:
        """End it now (a missed deadline); `close` then reports a wall-clock limit."""
        self._killed_by_caller = True
        _kill_group(self._process)

    def close(self, timeout: float = 5.0) -> SandboxResult:
        """Close its input, wait up to `timeout` seconds for it to end (then kill it), clean up."""
        if self._result is not None:
            return self._result
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        timer = threading.Timer(timeout, lambda: _kill_group(self._process))
        timer.daemon = True
        timer.start()
        try:
            return_code, cpu = self._sandbox._reap(self._process)
        finally:
            timer.cancel()
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._reader.join(timeout=5)
        stderr = self._err.text()
        limit = _limit_hit(return_code, self._killed_by_caller, cpu, self._limits, stderr)
        self._result = SandboxResult(
            stdout="",
            stderr=stderr,
            return_code=return_code,
            duration=time.monotonic() - self._started,
            cpu_seconds=cpu,
            timed_out=limit in ("wall", "cpu"),
            limit=limit,
            output_truncated=bool(self._err.dropped),
        )
        return self._result


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _limit_hit(return_code: int, wall: bool, cpu: float, limits: Limits, stderr: str) -> str | None:
    if wall:
        return "wall"
    killed = return_code < 0
    if killed and limits.cpu_seconds is not None and cpu >= limits.cpu_seconds - 0.1:
        return "cpu"
    if return_code == MEMORY_EXIT_CODE and "MemoryError" in stderr:
        return "memory"
    if killed and ("std::bad_alloc" in stderr or "Cannot allocate memory" in stderr):
        return "memory"
    return None


def _with_outputs(result: SandboxResult, produced: list[str]) -> SandboxResult:
    from dataclasses import replace

    return replace(result, outputs=produced)
