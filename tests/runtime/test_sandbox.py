"""The sandbox with real subprocesses: limits, the clean environment, hidden paths, no network."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from openlytics.runtime.sandbox import Limits, Program, Sandbox, SandboxResult

AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="isolation (user, namespaces) needs root")
FAST = Limits(cpu_seconds=5, wall_seconds=20, memory_mb=1024)


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A world-readable directory standing for the server's data dir (not under pytest's 0700 tree)."""
    base = Path("/tmp") / f"ol-sandbox-test-{os.getpid()}"
    (base / "data").mkdir(parents=True, exist_ok=True)
    for path in (base, base / "data"):
        path.chmod(0o755)
    secret = base / "data" / "metadata.db"
    secret.write_text("the server's secrets")
    secret.chmod(0o644)
    yield base / "data"
    for path in sorted(base.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    base.rmdir()


@pytest.fixture(scope="module")
def sandbox(server_dir: Path) -> Sandbox:
    return Sandbox(hidden_paths=[server_dir])


def run(sandbox: Sandbox, code: str, limits: Limits = FAST, *, network: bool = True) -> SandboxResult:
    return sandbox.run(
        Program.file("main.py"), files={"main.py": code.encode()}, limits=limits, network=network
    )


def test_files_in_arguments_and_env_out(sandbox: Sandbox, tmp_path: Path) -> None:
    code = """
import json, os, sys
params = json.load(open("params.json"))
print(params["n"] * 2, sys.argv[1:], os.environ["GREETING"])
open("out.txt", "w").write("written inside")
"""
    result = sandbox.run(
        Program.file("main.py"),
        files={"main.py": code.encode(), "params.json": json.dumps({"n": 21}).encode()},
        env={"GREETING": "hello"},
        args=["a", "b"],
        limits=FAST,
        outputs={"out.txt": tmp_path / "out.txt"},
    )
    assert result.ok, result.stderr
    assert result.stdout == "42 ['a', 'b'] hello\n"
    assert result.outputs == ["out.txt"]
    assert (tmp_path / "out.txt").read_text() == "written inside"


def test_environment_is_built_from_scratch(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLYTICS_SECRET_KEY", "server-secret-value")
    monkeypatch.setenv("OPENLYTICS_DATABASE_URL", "postgresql://user:pw@db/meta")
    result = run(sandbox, "import os, json; print(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert "OPENLYTICS_SECRET_KEY" not in env and "OPENLYTICS_DATABASE_URL" not in env
    assert "server-secret-value" not in result.stdout
    assert set(env) <= {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "USER",
        "LOGNAME",
        "ARROW_DEFAULT_MEMORY_POOL",
    }


def test_working_directory_is_fresh_and_deleted(sandbox: Sandbox) -> None:
    first = run(sandbox, "import os; print(os.getcwd()); print(os.listdir('.'))")
    cwd, listing = first.stdout.splitlines()
    assert listing == "['main.py']"
    assert not Path(cwd).exists()


@needs_root
def test_runs_as_an_unprivileged_user_in_its_own_pid_namespace(sandbox: Sandbox) -> None:
    result = run(
        sandbox, "import os; print(os.getuid(), os.getgid(), os.getpid(), os.listdir('/proc').count('1'))"
    )
    uid, gid, pid, _ = result.stdout.split()
    assert (int(uid), int(gid)) != (0, 0)
    assert pid == "1"


@needs_root
def test_hidden_data_dir_is_empty_inside(sandbox: Sandbox, server_dir: Path) -> None:
    code = f"""
import os
print(os.listdir({str(server_dir)!r}))
try:
    print(open({str(server_dir / "metadata.db")!r}).read())
except OSError as exc:
    print("blocked", type(exc).__name__)
"""
    result = run(sandbox, code)
    assert result.stdout == "[]\nblocked FileNotFoundError\n"
    assert (server_dir / "metadata.db").read_text() == "the server's secrets"


@needs_root
def test_a_0700_directory_of_the_server_is_unreadable_even_unhidden(tmp_path: Path) -> None:
    private = Path("/tmp") / f"ol-private-{os.getpid()}"
    private.mkdir(mode=0o700)
    try:
        (private / "metadata.db").write_text("secret")
        result = run(Sandbox(), f"open({str(private / 'metadata.db')!r}).read()")
        assert result.return_code == 1
        assert "PermissionError" in result.stderr
    finally:
        (private / "metadata.db").unlink()
        private.rmdir()


def test_cpu_loop_is_stopped_by_the_cpu_limit(sandbox: Sandbox) -> None:
    result = run(sandbox, "while True: pass", Limits(cpu_seconds=1, wall_seconds=30, memory_mb=512))
    assert result.limit == "cpu" and result.timed_out
    assert result.duration < 10


def test_sleeper_and_its_children_are_killed_at_the_wall_limit(sandbox: Sandbox) -> None:
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(600)"
    result = run(sandbox, code, Limits(cpu_seconds=5, wall_seconds=1.5, memory_mb=512))
    assert result.limit == "wall" and result.timed_out
    assert result.return_code == -9


def test_two_gigabytes_are_refused_by_the_memory_limit(sandbox: Sandbox) -> None:
    result = run(sandbox, "block = bytearray(2 * 1024**3)\nprint('allocated')", Limits(memory_mb=512))
    assert result.memory_exceeded
    assert "allocated" not in result.stdout
    assert "MemoryError" in result.stderr


def test_output_is_capped_and_says_so(sandbox: Sandbox) -> None:
    result = run(sandbox, "print('x' * 5_000_000)", Limits(max_output_bytes=1000))
    assert result.output_truncated
    assert len(result.stdout) < 1100
    assert "output truncated: 4999001 more bytes" in result.stdout


@needs_root
def test_without_network_nothing_is_reachable(sandbox: Sandbox) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        code = (
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('connected')"
        )
        blocked = run(sandbox, code, network=False)
        allowed = run(sandbox, code, network=True)
    finally:
        listener.close()
    assert "connected" not in blocked.stdout and "OSError" in blocked.stderr
    assert allowed.stdout == "connected\n"


def test_module_entry_point_and_traceback_without_sandbox_frames(sandbox: Sandbox) -> None:
    result = sandbox.run(Program.entry_point("json.tool", "main"), args=["--help"], limits=FAST)
    assert result.return_code == 0 and "usage" in result.stdout
    failing = run(sandbox, "raise ValueError('boom')")
    assert failing.return_code == 1
    assert failing.stderr.startswith('Traceback (most recent call last):\n  File "main.py"')


def test_per_run_limits_only_lower_the_server_limits() -> None:
    server = Limits(cpu_seconds=60, wall_seconds=120, memory_mb=2048)
    assert server.lowered(cpu_seconds=5, wall_seconds=None, memory_mb=99_999) == Limits(
        cpu_seconds=5, wall_seconds=120, memory_mb=2048
    )
