"""`openlytics pipeline ...` against a live server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.cli.conftest import Invoke
from tests.conftest import drain_pipeline

FAILS_ON_BAD = "def transform(event):\n    if event.get('bad'):\n        raise ValueError('bad event')\n    return event\n"


def settle(server: Any, new_org: Any, expected: int) -> None:
    deadline = time.monotonic() + 60
    headers = {"Authorization": f"Bearer {new_org.keys['viewer']}"}
    while True:
        drain_pipeline(server, new_org.id)
        stats = httpx.get(f"{server.url}/api/v1/pipeline/samples/stats", headers=headers).json()["stats"]
        if sum(n for counts in stats.values() for n in counts.values()) >= expected:
            return
        assert time.monotonic() < deadline, stats
        time.sleep(0.1)


def test_inputs_code_restream_and_metrics(cli: Invoke, server: Any, new_org: Any, tmp_path: Path) -> None:
    created = cli("pipeline", "inputs", "create", "web", role="admin")
    assert created.exit_code == 0, created.output
    assert "Created REST input web" in created.output and "/inputs/rest/" in created.output
    listed = json.loads(cli("pipeline", "inputs", "list", "--json", role="admin").output)
    token = listed[0]["configuration"]["token"]
    assert cli("pipeline", "inputs", "list", role="viewer").output.count("web") >= 1

    code = tmp_path / "main.py"
    code.write_text(FAILS_ON_BAD)
    saved = cli("pipeline", "code", "set", code, role="admin")
    assert saved.exit_code == 0 and "Saved main (4 lines)" in saved.output
    assert "raise ValueError" in cli("pipeline", "code", "get", role="viewer").output
    broken = tmp_path / "broken.py"
    broken.write_text("def transform(event):\n    return (\n")
    refused = cli("pipeline", "code", "set", broken, role="admin")
    assert refused.exit_code == 1 and "line" in refused.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"bad": true}')
    tested = cli("pipeline", "code", "test", bad, role="admin")
    assert tested.exit_code == 1 and "ValueError: bad event" in tested.output
    good = tmp_path / "good.json"
    good.write_text('{"n": 7}')
    passed = cli("pipeline", "code", "test", good, role="admin")
    assert passed.exit_code == 0 and '"n": 7' in passed.output

    events = [{"n": 1}, {"n": 2, "bad": True}]
    assert httpx.post(f"{server.url}/alooma/inputs/rest/{token}", json=events, timeout=60).status_code == 200
    settle(server, new_org, 2)
    types = cli("pipeline", "event-types", role="viewer")
    assert types.exit_code == 0 and "web" in types.output and "MAPPED" in types.output
    failed = cli("pipeline", "samples", "--status", "TRANSFORM_ERROR", "--json", role="viewer")
    assert [s["event"]["n"] for s in json.loads(failed.output)] == [2]

    shown = cli("pipeline", "restream", "--show", role="viewer")
    assert shown.exit_code == 0 and "1 events" in shown.output
    assert cli("pipeline", "restream", role="viewer").exit_code == 1  # permission denied
    reset = tmp_path / "reset.py"
    reset.write_text("def transform(event):\n    return event\n")
    assert cli("pipeline", "code", "set", reset, role="admin").exit_code == 0
    restreamed = cli("pipeline", "restream", role="admin")
    assert restreamed.exit_code == 0 and "Restreamed 1 events" in restreamed.output
    settle(server, new_org, 3)

    metrics = cli("pipeline", "metrics", "--minutes", "5", role="viewer")
    assert metrics.exit_code == 0, metrics.output
    assert "INCOMING_EVENTS" in metrics.output and "ERROR_EVENTS" in metrics.output
    assert any(ch in metrics.output for ch in "▁▂▃▄▅▆▇█")
    as_json = json.loads(cli("pipeline", "metrics", "-m", "5", "--name", "INCOMING_EVENTS", "--json").output)
    assert sum(p["value"] for p in as_json["series"]["INCOMING_EVENTS"]) == 3


def test_upload_pause_resume(cli: Invoke, server: Any, new_org: Any, tmp_path: Path) -> None:
    folder = server.settings.data_dir.parent / f"cli_drop_{new_org.id}"
    folder.mkdir(exist_ok=True)
    created = cli("pipeline", "inputs", "create", "drops", "-t", "FILE", "-c", f"path={folder}", role="admin")
    assert created.exit_code == 0, created.output
    data = tmp_path / "people.jsonl"
    data.write_text('{"id": 1}\n{"id": 2}\n{"id": 3}\n')
    uploaded = cli("pipeline", "inputs", "upload", "drops", data, role="admin")
    assert uploaded.exit_code == 0, uploaded.output
    assert "Uploading people.jsonl" in uploaded.output and "Queued 3 events" in uploaded.output
    assert "Paused drops" in cli("pipeline", "inputs", "pause", "drops", role="admin").output
    refused = cli("pipeline", "inputs", "upload", "drops", data, role="admin")
    assert refused.exit_code == 1 and "paused" in refused.output
    assert "Resumed drops" in cli("pipeline", "inputs", "resume", "drops", role="admin").output
    assert cli("pipeline", "inputs", "pause", "nope", role="admin").exit_code == 1
