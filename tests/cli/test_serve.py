"""`openlytics serve` starts the real server; the other commands then talk to it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_the_server_that_the_cli_then_uses(tmp_path: Path) -> None:
    executable = shutil.which("openlytics")
    assert executable is not None, "the console script is not installed"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OPENLYTICS_ADMIN_API_KEY": "olk_serve_test_key_0123456789",
        "OPENLYTICS_SCHEDULER_ENABLED": "false",
    }
    command = [executable, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else "server exited"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        me = subprocess.run(
            [executable, "me", "--url", url, "--api-key", env["OPENLYTICS_ADMIN_API_KEY"]],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert me.returncode == 0, me.stderr
        assert "admin" in me.stdout
        assert (tmp_path / "metadata.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
