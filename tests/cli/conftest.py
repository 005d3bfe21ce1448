"""CLI fixtures: the CliRunner and a fresh organization's keys on the live server."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from openlytics.cli.main import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli(server: Any, new_org: Any) -> Invoke:
    """Run `openlytics ARGS` as `role` of a fresh organization (URL and key given through the env)."""
    runner = CliRunner()

    def invoke(*args: str | Sequence[str], role: str = "editor", **env: str) -> Result:
        argv = [str(a) for a in args]
        environ = {
            "OPENLYTICS_URL": server.url,
            "OPENLYTICS_API_KEY": new_org.keys[role],
            "COLUMNS": "200",
            **env,
        }
        return runner.invoke(app, argv, env=environ)

    return invoke
