"""A live openlytics server on a free loopback port, for tests (ours and users').

with LiveServer(Settings(data_dir=tmp_path)) as server:
    client = Client(server.url, server.admin_key)
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn
from pydantic import SecretStr

from openlytics.api.app import create_app
from openlytics.app import Openlytics
from openlytics.settings import Settings


class LiveServer:
    """Runs uvicorn in a background thread on a socket bound to port 0."""

    def __init__(self, settings: Settings | None = None, *, data_dir: Path | None = None) -> None:
        if settings is None:
            if data_dir is None:
                raise ValueError("give settings or a data_dir")
            settings = Settings(data_dir=data_dir)
        if settings.admin_api_key is None:
            settings = settings.model_copy(
                update={"admin_api_key": SecretStr("olk_test_" + secrets.token_urlsafe(24))}
            )
        assert settings.admin_api_key is not None
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if not settings.internal_url:  # scripts call the server back on the port it really has
            settings = settings.model_copy(update={"internal_url": self.url})
        assert settings.admin_api_key is not None
        self.settings = settings
        self.admin_key = settings.admin_api_key.get_secret_value()
        self.core = Openlytics(settings)
        config = uvicorn.Config(
            create_app(settings, openlytics=self.core), log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> LiveServer:
        """Start and wait until /healthz answers 200."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError("the server thread exited during startup")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server at {self.url} not ready after {timeout} s")

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
