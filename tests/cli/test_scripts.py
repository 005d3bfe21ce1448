"""`openlytics scripts ...` against a live server."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cli.conftest import Invoke


def test_create_run_with_parameters_and_logs(cli: Invoke, tmp_path: Path) -> None:
    name = f"hello-{uuid.uuid4().hex[:6]}"
    source = tmp_path / "hello.py"
    source.write_text("import json\nprint('hello', json.load(open('params.json'))['who'])\n")
    created = cli("scripts", "create", source, "--name", name)
    assert created.exit_code == 0, created.output
    assert f"Created script {name}" in created.output

    listed = cli("scripts", "list", "--json")
    assert name in listed.output

    ran = cli("scripts", "run", name, "-p", "who=world", "--wait")
    assert ran.exit_code == 0, ran.output
    assert "hello world" in ran.output

    started = cli("scripts", "run", name, "-p", "who=async")
    assert started.exit_code == 0 and "Started run" in started.output

    logs = cli("scripts", "logs", name, "--limit", "5")
    assert logs.exit_code == 0 and "Runs" in logs.output


def test_failed_run_exits_1_and_unknown_name_is_an_error(cli: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "boom.py"
    source.write_text("raise SystemExit(3)\n")
    name = f"boom-{uuid.uuid4().hex[:6]}"
    assert cli("scripts", "create", source, "--name", name).exit_code == 0
    ran = cli("scripts", "run", name, "--wait")
    assert ran.exit_code == 1 and "exited with code 3" in ran.output
    missing = cli("scripts", "logs", "no-such-script")
    assert missing.exit_code == 1 and "no script named 'no-such-script'" in missing.output
