"""The first code a sandboxed process runs: `python -I -u _sandbox_boot.py CONFIG_JSON`.

Run by path, never imported: it must not import openlytics (the package may be hidden from the
sandbox). As root it unshares a mount and a PID namespace (and a network namespace when the program
gets no network), forks the program as PID 1 of the new namespace, hides the configured paths under
empty tmpfs mounts (binding back what the interpreter needs), mounts a /proc that shows only the
namespace, sets the resource limits, drops to the unprivileged user and runs the program. The parent
stays outside, waits, and ends the way its child ended, so the server sees one process. Not as root,
it only sets the limits and runs the program.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import runpy
import signal
import sys
import traceback
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
# What a program that ran out of memory exits with (the shell's "killed by SIGKILL", as OOM kills show).
MEMORY_EXIT_CODE = 137

LIMITS = {
    "cpu_seconds": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "open_files": resource.RLIMIT_NOFILE,
    "file_bytes": resource.RLIMIT_FSIZE,
    "processes": resource.RLIMIT_NPROC,
}


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    if config["isolate"]:
        libc = ctypes.CDLL(None, use_errno=True)
        flags = CLONE_NEWNS | CLONE_NEWPID | (0 if config["network"] else CLONE_NEWNET)
        _check(libc.unshare(flags), "unshare")
        child = os.fork()
        if child:
            _relay(child)
        _hide_paths(libc, config["hide"], config["keep"])
        _check(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    _set_limits(config["limits"])
    if config["isolate"]:
        _drop_privileges(libc, config["uid"], config["gid"])
    os.chdir(config["cwd"])
    _run(config["program"], config["args"])


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"sandbox: {what} failed: {os.strerror(errno)}")


def _relay(child: int) -> None:
    """Wait for the program and end the same way (exit code or signal)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os.kill(os.getpid(), signal.SIGKILL)  # a signal whose default is not to end the process
    os._exit(os.waitstatus_to_exitcode(status))


def _hide_paths(libc: Any, hide: list[str], keep: list[str]) -> None:
    """Cover each hidden directory with an empty tmpfs; bind back the kept paths under it."""
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    # Open what must stay visible before covering it; bind it back through /proc/self/fd.
    kept = [(path, os.open(path, os.O_PATH)) for path in keep if os.path.exists(path)]
    for path in hide:
        if os.path.isdir(path):
            options = b"mode=0755,size=1m"
            _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), path)
    for path, fd in kept:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "ab").close()  # a mount point for a file
        source = f"/proc/self/fd/{fd}".encode()
        _check(libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None), f"bind {path}")
        os.close(fd)


def _set_limits(limits: dict[str, int | None]) -> None:
    for name, value in limits.items():
        if value is None:
            continue
        # CPU: the soft limit sends SIGXCPU, the hard one a second later SIGKILL (PID 1 of a
        # namespace ignores SIGXCPU).
        hard = value + 1 if name == "cpu_seconds" else value
        resource.setrlimit(LIMITS[name], (value, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _drop_privileges(libc: Any, uid: int, gid: int) -> None:
    parent = os.getppid()
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    # After the uid change (which clears them): die with the relay, and keep /proc/<pid>/environ
    # and ptrace closed to other processes of the same user.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _run(program: dict[str, str], args: list[str]) -> None:
    try:
        if "path" in program:
            sys.argv = [program["path"], *args]
            runpy.run_path(program["path"], run_name="__main__")
        else:
            sys.argv = [program["module"], *args]
            entry = getattr(importlib.import_module(program["module"]), program["entry"])
            result = entry()
            if isinstance(result, int) and not isinstance(result, bool):
                sys.exit(result)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported like Python would, without our frames
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>"):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(MEMORY_EXIT_CODE if isinstance(exc, MemoryError) else 1)


if __name__ == "__main__":
    main()
