# Generated from _async/scripts.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Scripts: Python the server runs in a sandbox, with parameters, logs and stored data."""

from __future__ import annotations

import time
from collections.abc import Iterator
from time import monotonic
from typing import Any

from openlytics.client.models import Script, ScriptRun

from .http import HTTP

POLL_SECONDS = 0.5


class Scripts:
    """`client.scripts`; a script is named by its integer id or UUID."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self, search: str | None = None) -> Iterator[Script]:
        """Every script of the organization (`search` matches names)."""
        for item in self._http.paginate("/scripts", {"q": search}):
            yield Script.from_json(item)

    def get(self, script: int | str) -> Script:
        """One script."""
        return Script.from_json(self._http.request("GET", f"/scripts/{script}"))

    def find(self, name: str) -> Script | None:
        """The script with exactly this name, or None."""
        for candidate in self.list(search=name):
            if candidate.name == name:
                return candidate
        return None

    def create(
        self,
        name: str,
        code: str,
        *,
        cpu_seconds: float | None = None,
        wall_seconds: float | None = None,
        memory_mb: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> Script:
        """Store a script; limits may only lower the server's."""
        fields = {
            "name": name,
            "code": code,
            "cpu_seconds": cpu_seconds,
            "wall_seconds": wall_seconds,
            "memory_mb": memory_mb,
            "options": options,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        return Script.from_json(self._http.request("POST", "/scripts", json=body))

    def update(self, script: int | str, **fields: Any) -> Script:
        """Change `name`, `code`, `options` or limits (None: back to the server's default)."""
        return Script.from_json(self._http.request("PATCH", f"/scripts/{script}", json=fields))

    def delete(self, script: int | str) -> None:
        """Delete a script and its runs."""
        self._http.request("DELETE", f"/scripts/{script}")

    def run(
        self, script: int | str, parameters: dict[str, Any] | None = None, *, wait: bool = False
    ) -> ScriptRun:
        """Start a run (`running` on return); with `wait`, return it finished."""
        body = {"parameters": parameters or {}, "wait": wait}
        return ScriptRun.from_json(self._http.request("POST", f"/scripts/{script}/runs", json=body))

    def wait(self, script: int | str, run_id: int, *, timeout: float | None = None) -> ScriptRun:
        """Poll until the run `run_id` finishes (TimeoutError after `timeout` s)."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            for run in self.runs(script, limit=100):
                if run.id == run_id and run.is_finished:
                    return run
            if deadline is not None and monotonic() >= deadline:
                raise TimeoutError(f"script run {run_id} still running after {timeout} s")
            time.sleep(POLL_SECONDS)

    def runs(self, script: int | str, *, limit: int = 20) -> Iterator[ScriptRun]:
        """The latest runs, newest first."""
        data = self._http.request("GET", f"/scripts/{script}/runs", params={"limit": limit})
        for item in data.get("items") or []:
            yield ScriptRun.from_json(item)

    def is_running(self, script: int | str) -> bool:
        """Whether a run of the script is running."""
        data = self._http.request("GET", f"/scripts/{script}/state")
        return bool(data.get("running"))

    def get_storage(self, script: int | str) -> str | None:
        """The script's stored JSON text exactly as it was put, or None."""
        raw = self._http.read_bytes(f"/scripts/{script}/storage")
        return raw.decode("utf-8") if raw else None

    def set_storage(self, script: int | str, raw: str) -> None:
        """Store JSON text for the script (kept byte for byte)."""
        self._http.request("PUT", f"/scripts/{script}/storage", content=raw.encode("utf-8"))
