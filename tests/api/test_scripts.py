"""Scripts through the native API and the SDK, run for real in the sandbox of a live server."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from openlytics.client import Client
from openlytics.testing import LiveServer
from tests.conftest import Org


def create(org: Org, code: str, **fields: Any) -> dict[str, Any]:
    body = {"name": f"script-{uuid.uuid4().hex[:8]}", "code": textwrap.dedent(code), **fields}
    response = org.editor.post("/api/v1/scripts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run(org: Org, script: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    response = org.editor.post(
        f"/api/v1/scripts/{script['id']}/runs", json={"parameters": parameters or {}, "wait": True}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_crud_by_id_and_uuid_with_unique_names(new_org: Org) -> None:
    script = create(new_org, "print('hi')")
    by_uuid = new_org.viewer.get(f"/api/v1/scripts/{script['uuid']}")
    assert by_uuid.status_code == 200 and by_uuid.json()["id"] == script["id"]
    duplicate = new_org.editor.post("/api/v1/scripts", json={"name": script["name"], "code": ""})
    assert duplicate.status_code == 409
    assert new_org.viewer.post("/api/v1/scripts", json={"name": "v", "code": ""}).status_code == 403
    changed = new_org.editor.patch(f"/api/v1/scripts/{script['id']}", json={"code": "print('bye')"})
    assert changed.json()["code"] == "print('bye')"
    listed = new_org.viewer.get("/api/v1/scripts").json()
    assert [s["name"] for s in listed["items"]] == [script["name"]]
    assert new_org.editor.delete(f"/api/v1/scripts/{script['uuid']}").status_code == 204
    assert new_org.viewer.get(f"/api/v1/scripts/{script['id']}").status_code == 404


def test_parameters_in_and_stdout_out(new_org: Org) -> None:
    script = create(
        new_org,
        """
        import json, sys
        params = json.load(open("params.json"))
        print("total", params["a"] + params["b"])
        print("warning", file=sys.stderr)
        """,
    )
    finished = run(new_org, script, {"a": 40, "b": 2})
    assert finished["status"] == "success", finished
    assert finished["stdout"] == "total 42\n"
    assert finished["stderr"] == "warning\n"
    assert finished["return_code"] == 0
    assert finished["parameters"] == {"a": 40, "b": 2}
    assert finished["started_at"] and finished["finished_at"]


def test_script_calls_back_the_server_with_the_sdk_and_its_key(new_org: Org) -> None:
    script = create(
        new_org,
        """
        import os
        from openlytics.client import Client
        with Client() as client:
            query = client.queries.create("made by a script", "SELECT 41 + 1 AS answer")
            print(client.me().user.email, query.id, client.run_sql("SELECT 41 + 1 AS answer").rows)
        print(os.environ["OPENLYTICS_API_KEY"])
        """,
    )
    finished = run(new_org, script)
    assert finished["status"] == "success", finished["stderr"]
    identity, key = finished["stdout"].splitlines()
    email, query_id, rows = identity.split(" ", 2)
    assert email.startswith("editor@") and rows == "[{'answer': 42}]"
    assert new_org.viewer.get(f"/api/v1/queries/{query_id}").json()["name"] == "made by a script"
    # The per-run key died with the run.
    assert (
        httpx.get(
            f"{new_org.editor.base_url}/api/v1/me", headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 401
    )


def test_async_run_is_running_when_the_call_returns(new_org: Org) -> None:
    script = create(new_org, "import time; time.sleep(1.5); print('done')")
    started = new_org.editor.post(f"/api/v1/scripts/{script['id']}/runs", json={"parameters": {}})
    assert started.status_code == 202 and started.json()["status"] == "running"
    assert new_org.viewer.get(f"/api/v1/scripts/{script['id']}/state").json() == {"running": True}
    with Client(str(new_org.viewer.base_url), new_org.keys["viewer"]) as client:
        assert client.scripts.is_running(script["id"])
        finished = client.scripts.wait(script["id"], started.json()["id"], timeout=60)
        assert finished.status == "success" and finished.stdout == "done\n"
        assert not client.scripts.is_running(script["uuid"])


def test_runs_are_listed_newest_first(new_org: Org) -> None:
    script = create(new_org, "import json; print(json.load(open('params.json'))['n'])")
    for n in range(3):
        run(new_org, script, {"n": n})
    runs = new_org.viewer.get(f"/api/v1/scripts/{script['id']}/runs", params={"limit": 2}).json()["items"]
    assert [r["stdout"] for r in runs] == ["2\n", "1\n"]


def test_storage_round_trip_keeps_raw_text(new_org: Org) -> None:
    script = create(
        new_org,
        """
        import json
        from openlytics.client import Client
        me = json.load(open("params.json"))["me"]
        with Client() as client:
            previous = client.scripts.get_storage(me)
            client.scripts.set_storage(me, '{"runs":  ' + str(1 + (previous is not None)) + "}")
            print(previous)
        """,
    )
    url = f"/api/v1/scripts/{script['id']}/storage"
    assert new_org.viewer.get(url).status_code == 204
    raw = '{ "b" : 1,\n  "a": [1, 2.50, "é"] }'
    assert new_org.editor.put(url, content=raw.encode()).status_code == 204
    assert new_org.viewer.get(url).content == raw.encode()
    assert new_org.editor.put(url, content=b"{not json").status_code == 422
    first = run(new_org, script, {"me": script["uuid"]})
    assert first["status"] == "success", first["stderr"]
    assert first["stdout"] == raw + "\n"
    assert new_org.viewer.get(url).text == '{"runs":  2}'


def test_endless_loop_is_stopped_by_the_cpu_limit(new_org: Org) -> None:
    script = create(new_org, "while True: pass", cpu_seconds=1)
    finished = run(new_org, script)
    assert finished["status"] == "timeout"
    assert finished["error"] == "CPU time limit of 1 s exceeded"


def test_sleeping_forever_is_stopped_by_the_wall_limit(new_org: Org) -> None:
    script = create(new_org, "import time; print('start', flush=True); time.sleep(3600)", wall_seconds=1.5)
    finished = run(new_org, script)
    assert finished["status"] == "timeout"
    assert finished["error"] == "wall-clock limit of 1.5 s exceeded"
    assert finished["stdout"] == "start\n"


def test_two_gigabytes_are_stopped_by_the_memory_limit(new_org: Org) -> None:
    script = create(new_org, "block = bytearray(2 * 1024**3)\nprint('allocated')", memory_mb=512)
    finished = run(new_org, script)
    assert finished["status"] == "failure"
    assert finished["error"] == "memory limit of 512 MB exceeded"
    assert "MemoryError" in finished["stderr"] and "allocated" not in finished["stdout"]


def test_script_cannot_read_the_data_dir_nor_the_secret_key(
    new_org: Org, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLYTICS_SECRET_KEY", "secret-in-the-server-env")
    data_dir = server.settings.data_dir.resolve()
    assert oct(data_dir.stat().st_mode & 0o777) == "0o700"
    script = create(
        new_org,
        f"""
        import os
        print(sorted(k for k in os.environ if "SECRET" in k or "DATABASE" in k))
        for path in ({str(data_dir / "metadata.db")!r}, {str(server.settings.warehouse_path)!r}):
            try:
                print(len(open(path, "rb").read()) if os.path.isfile(path) else os.listdir(path))
            except OSError as exc:
                print(type(exc).__name__)
        """,
    )
    finished = run(new_org, script)
    assert finished["status"] == "success", finished["stderr"]
    lines = finished["stdout"].splitlines()
    assert lines[0] == "[]"
    assert all(line in ("PermissionError", "FileNotFoundError", "[]") for line in lines[1:]), lines
    assert "secret-in-the-server-env" not in finished["stdout"]


def test_scheduled_script_run_fires(new_org: Org) -> None:
    script = create(new_org, "import json; print('scheduled', json.load(open('params.json'))['x'])")
    schedule = new_org.editor.post(
        "/api/v1/schedules",
        json={
            "kind": "script_run",
            "target_id": script["id"],
            "interval_seconds": 3600,
            "starts_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
            "payload": {"parameters": {"x": 1}},
        },
    )
    assert schedule.status_code == 201, schedule.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = new_org.viewer.get(f"/api/v1/scripts/{script['id']}/runs").json()["items"]
        if runs and runs[0]["status"] != "running":
            break
        time.sleep(0.2)
    assert runs[0]["schedule_id"] == schedule.json()["id"]
    assert runs[0]["status"] == "success" and runs[0]["stdout"] == "scheduled 1\n"


def test_schedule_of_an_unknown_script_is_refused(new_org: Org) -> None:
    body = {"kind": "script_run", "target_id": 999_999, "interval_seconds": 3600}
    assert new_org.editor.post("/api/v1/schedules", json=body).status_code == 404


def test_other_organizations_do_not_see_scripts(new_org: Org, admin: httpx.Client) -> None:
    script = create(new_org, "print(1)")
    assert admin.get(f"/api/v1/scripts/{script['uuid']}").status_code == 404
    assert admin.post(f"/api/v1/scripts/{script['id']}/runs", json={}).status_code == 404


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user is only used as root")
def test_runs_as_the_unprivileged_user(new_org: Org) -> None:
    finished = run(new_org, create(new_org, "import os; print(os.getuid())"))
    assert finished["stdout"] != "0\n"
