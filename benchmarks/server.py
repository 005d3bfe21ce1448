"""A live openlytics server in a child process, as in production (no GIL shared with the client).

python -m benchmarks.server DATA_DIR   # prints {"url": ..., "admin_key": ...}; stops when stdin closes
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """Starts `python -m benchmarks.server` and reads where it listens."""

    def __init__(self, data_dir: Path, threads: int, memory_limit: str) -> None:
        self._args = [sys.executable, "-m", "benchmarks.server", str(data_dir), str(threads), memory_limit]
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self.admin_key = ""

    def __enter__(self) -> ServerProcess:
        self._process = subprocess.Popen(
            self._args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server exited during startup")
        info = json.loads(line)
        self.url, self.admin_key = info["url"], info["admin_key"]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def settings_for(data_dir: Path, threads: int, memory_limit: str) -> object:
    """Server settings for a benchmark run: the engine gets the same threads and memory as the raw one."""
    from openlytics.settings import Settings

    return Settings(
        data_dir=data_dir,
        warehouse_threads=threads,
        warehouse_memory_limit=memory_limit,
        scheduler_enabled=False,
    )


def main(argv: list[str]) -> None:
    """Run a LiveServer until stdin closes."""
    import logging

    from openlytics.runtime.gc_tuning import freeze_startup_objects, tune_for_server
    from openlytics.testing import LiveServer

    data_dir, threads, memory_limit = Path(argv[0]), int(argv[1]), argv[2]
    logging.disable(logging.WARNING)
    tune_for_server()  # as `openlytics serve` does
    with LiveServer(settings_for(data_dir, threads, memory_limit)) as server:  # type: ignore[arg-type]
        freeze_startup_objects()
        print(json.dumps({"url": server.url, "admin_key": server.admin_key}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1:])
