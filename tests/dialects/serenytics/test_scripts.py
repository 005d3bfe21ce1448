"""Scripts through the real serenytics client: run with parameters, logs, state, stored data, limits."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import time
from typing import Any

import pytest

from tests.dialects.serenytics.conftest import Serenytics


def create_script(sty: Serenytics, name: str, code: str) -> Any:
    """As the client's test fixtures do: POST /api/script (201), then get it through the client."""
    from serenytics import settings
    from serenytics.helpers import HTTP_201_CREATED, make_request

    body = {"name": name, "schedule_infos": "", "code": textwrap.dedent(code), "kind": "GENERIC_PYTHON"}
    created = make_request(
        "post",
        settings.SERENYTICS_API_DOMAIN + "/api/script",
        data=json.dumps(body),
        expected_status_code=HTTP_201_CREATED,
        headers=sty.client._headers,
    ).json()
    return sty.client.get_script_by_uuid(created["uuid"])


def test_a_script_uses_the_client_inside_with_its_parameters(sty: Serenytics) -> None:
    script = create_script(
        sty,
        "loader",
        """
        import serenytics
        client = serenytics.Client()
        params = client.script_args
        source = client.get_or_create_storage_data_source_by_name(params["target"])
        source.reload_data([{"n": i} for i in range(params["count"])])
        print("loaded", source.get_nb_rows())
        """,
    )
    script.run(params={"target": "from script", "count": 3}, async_=False)
    log = script.run(params={"target": "again", "count": 2}, async_=False)
    assert log.status == "SUCCESS" and "loaded 2" in log.stdout and log.return_code == 0
    assert script.get_last_logs()[0].stdout == log.stdout
    assert sty.client.get_data_source_by_name("from script").get_nb_rows() == 3


def test_a_failing_script_raises_script_failure(sty: Serenytics) -> None:
    from serenytics.script import ScriptFailure

    script = create_script(sty, "broken", "raise SystemExit('no luck')\n")
    with pytest.raises(ScriptFailure):
        script.run(async_=False)
    assert "no luck" in script.get_last_logs()[0].stderr


def test_async_run_is_running_when_the_call_returns(sty: Serenytics) -> None:
    script = create_script(sty, "slow", "import time\ntime.sleep(2)\nprint('done')\n")
    script.run(async_=True)
    assert script.is_running() is True
    script.wait()
    assert script.get_last_logs()[0].stdout.strip() == "done"


def test_a_script_that_loops_forever_is_stopped(sty: Serenytics) -> None:
    from serenytics.script import ScriptFailure

    script = create_script(sty, "forever", "while True:\n    pass\n")
    limited = sty.org.admin.patch(
        f"/api/v1/scripts/{script.uuid}", json={"cpu_seconds": 2, "wall_seconds": 20}
    )
    assert limited.status_code == 200, limited.text
    started = time.monotonic()
    with pytest.raises(ScriptFailure):
        script.run(async_=False)
    assert time.monotonic() - started < 120
    assert script.get_last_logs()[0].status == "FAILURE"


def test_a_script_that_allocates_too_much_is_stopped(sty: Serenytics) -> None:
    from serenytics.script import ScriptFailure

    script = create_script(sty, "greedy", "blob = bytearray(8 * 1024 ** 3)\nprint('allocated')\n")
    with pytest.raises(ScriptFailure):
        script.run(async_=False)
    assert "allocated" not in script.get_last_logs()[0].stdout


def test_script_storage_round_trips_datetimes(sty: Serenytics) -> None:
    script = create_script(sty, "stateful", "print('hi')\n")
    client = sty.client_for(sty.org.keys["admin"], script_id=script.uuid)
    assert client.retrieve_script_data() is None
    moment = dt.datetime(2026, 12, 1, 8, 30, 15)
    client.store_script_data({"last_execution_time": moment, "n": 3})
    assert client.retrieve_script_data() == {"last_execution_time": moment, "n": 3}


def test_unknown_script_and_duplicate_names(sty: Serenytics) -> None:
    from serenytics.helpers import SerenyticsException
    from serenytics.script import UnknownScript

    with pytest.raises(UnknownScript):
        sty.client.get_script_by_uuid("0d3c5f7e-1111-4a2b-9c3d-4e5f6a7b8c9d")
    create_script(sty, "twice", "print(1)\n")
    with pytest.raises(SerenyticsException):
        create_script(sty, "twice", "print(2)\n")


def test_get_script_by_name(sty: Serenytics) -> None:
    created = create_script(sty, "named one", "print(1)\n")
    create_script(sty, "named two", "print(2)\n")
    assert sty.client.get_script_by_name("named one").uuid == created.uuid
