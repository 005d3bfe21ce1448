"""`openlytics datasets rebuild` against a live server."""

from __future__ import annotations

import json
import uuid

from tests.cli.conftest import Invoke
from tests.conftest import Org


def test_rebuild_a_dataset_from_its_source_query(cli: Invoke, new_org: Org) -> None:
    query = new_org.editor.post(
        "/api/v1/queries", json={"name": "two", "sql": "SELECT 1 AS a UNION ALL SELECT 2"}
    )
    name = f"rebuilt_{uuid.uuid4().hex[:6]}"
    created = cli("datasets", "create", name, "--source-query", str(query.json()["id"]))
    assert created.exit_code == 0, created.output

    rebuilt = cli("datasets", "rebuild", name)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"Rebuilt {name} (reload)" in rebuilt.output and "2 rows, version 1" in rebuilt.output

    appended = cli("datasets", "rebuild", name, "--method", "append", "--json")
    assert appended.exit_code == 0, appended.output
    assert json.loads(appended.output)["row_count"] == 4

    wrong = cli("datasets", "rebuild", name, "-m", "sideways")
    assert wrong.exit_code != 0 and "reload, recreate" in wrong.output

    custom = f"custom_{uuid.uuid4().hex[:6]}"
    cli("datasets", "create", custom)
    untouched = cli("datasets", "rebuild", custom)
    assert untouched.exit_code == 0 and "custom table" in untouched.output
