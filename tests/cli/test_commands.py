"""The CLI against a live server: every command group, output formats, files, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openlytics.client import Client
from tests.cli.conftest import Invoke
from tests.warehouse_sql import SLOW_SQL, numbered


def test_me_shows_the_user_and_organization(cli: Invoke) -> None:
    result = cli("me", role="viewer")
    assert result.exit_code == 0, result.output
    assert "viewer" in result.output and "credential: user_key" in result.output
    as_json = json.loads(cli("me", "--json").output)
    assert as_json["user"]["role"] == "editor"


def test_options_override_the_environment(cli: Invoke, server: Any, new_org: Any) -> None:
    result = cli("me", "--url", server.url, "--api-key", new_org.keys["admin"], OPENLYTICS_API_KEY="bogus")
    assert result.exit_code == 0, result.output
    assert "admin" in result.output


def test_query_run_prints_a_table_with_the_row_count(cli: Invoke) -> None:
    result = cli("query", "run", "--sql", "SELECT 42 AS answer, DATE '2024-01-02' AS day")
    assert result.exit_code == 0, result.output
    assert "answer" in result.output and "42" in result.output and "2024-01-02" in result.output
    assert "1 row" in result.output


def test_a_long_result_is_cut_to_max_rows_with_the_total(cli: Invoke) -> None:
    result = cli("query", "run", "--sql", numbered(5000, "n AS i"), "--max-rows", "10")
    assert result.exit_code == 0, result.output
    assert "10 of 5,000 rows shown" in result.output
    assert "│ 9 " in result.output and "│ 10 " not in result.output


def test_query_run_writes_csv_and_json_to_stdout(cli: Invoke) -> None:
    sql = numbered(3, "n AS i, 'n' || n AS name")
    as_csv = cli("query", "run", "--sql", sql, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows == [["i", "name"], ["0", "n0"], ["1", "n1"], ["2", "n2"]]
    as_json = cli("query", "run", "--sql", sql, "-f", "json")
    assert json.loads(as_json.stdout)["rows"][2] == {"i": 2, "name": "n2"}


@pytest.mark.parametrize("suffix", ["parquet", "csv", "arrow", "json"])
def test_query_run_saves_a_file_with_a_progress_bar(cli: Invoke, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"out.{suffix}"
    result = cli("query", "run", "--sql", numbered(20000, "n AS i"), "--output", str(target))
    assert result.exit_code == 0, result.output
    assert f"Saved 20,000 rows ({target.stat().st_size:,} bytes)" in result.output
    assert "out." + suffix in result.stderr  # the progress bar's label
    if suffix == "parquet":
        assert pq.read_table(target).num_rows == 20000


def test_saved_queries_are_listed_shown_and_run_with_parameters(
    cli: Invoke, server: Any, new_org: Any
) -> None:
    with Client(server.url, new_org.keys["editor"]) as client:
        query = client.queries.create(
            "doubler",
            "SELECT {{ n }} * 2 AS twice, {{ label }} AS label",
            parameters=[{"name": "n", "type": "number"}, {"name": "label", "type": "text"}],
            tags=["cli"],
        )
    listed = cli("queries", "list", "--tag", "cli", role="viewer")
    assert listed.exit_code == 0 and "doubler" in listed.output
    shown = cli("queries", "show", str(query.id), role="viewer")
    assert shown.exit_code == 0 and "{{ n }} * 2" in shown.output
    args = ["--query-id", str(query.id), "-p", "n=21", "-p", "label=hi", "-f", "json"]
    ran = cli("query", "run", *args, role="viewer")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["rows"] == [{"twice": 42, "label": "hi"}]


def test_errors_are_one_red_line_with_the_server_code(cli: Invoke) -> None:
    bad_sql = cli("query", "run", "--sql", "SELECT * FROM no_such_table")
    assert bad_sql.exit_code == 1
    assert bad_sql.output.startswith("Error: [query_failed]") and "no_such_table" in bad_sql.output
    assert "Traceback" not in bad_sql.output
    denied = cli("query", "run", "--sql", "SELECT 1", role="viewer")
    assert denied.exit_code == 1 and "[permission_denied]" in denied.output
    unknown = cli("jobs", "show", "999999999")
    assert unknown.exit_code == 1 and "[not_found]" in unknown.output
    bad_key = cli("me", OPENLYTICS_API_KEY="olk_nope")
    assert bad_key.exit_code == 1 and "[unauthenticated]" in bad_key.output


def test_admins_manage_users_and_keys(cli: Invoke) -> None:
    email = f"cli-{uuid.uuid4().hex[:6]}@example.test"
    created = cli("users", "create", email, "--name", "Cli User", "--role", "editor", role="admin")
    assert created.exit_code == 0, created.output
    user_id = created.output.split("Created user ")[1].split()[0]
    assert email in cli("users", "list", role="admin").output
    updated = cli("users", "update", user_id, "--role", "viewer", role="admin")
    assert updated.exit_code == 0 and "viewer" in updated.output
    assert cli("users", "disable", user_id, role="admin").exit_code == 0
    users = json.loads(cli("users", "list", "--json", role="admin").output)
    assert next(u for u in users if u["email"] == email)["is_disabled"] is True

    key = cli("api-keys", "create", "ci", "--user-id", user_id, role="admin")
    assert key.exit_code == 0, key.output
    key_id = key.output.split("Created API key ")[1].split()[0]
    assert "ci" in cli("api-keys", "list", "--user-id", user_id, role="admin").output
    assert cli("api-keys", "revoke", key_id, role="admin").exit_code == 0


def test_data_sources_are_listed_added_tested_and_described(cli: Invoke, server: Any) -> None:
    listed = cli("data-sources", "list", role="viewer")
    assert listed.exit_code == 0 and "warehouse" in listed.output
    warehouse_id = json.loads(cli("data-sources", "list", "--json").output)[0]["id"]
    assert cli("data-sources", "test", str(warehouse_id)).exit_code == 0
    cli("query", "run", "--sql", "CREATE TABLE cli_people AS SELECT 1::INTEGER AS id, 'Ada' AS name")
    schema = cli("data-sources", "schema", str(warehouse_id))
    assert "cli_people" in schema.output and "integer" in schema.output

    path = server.settings.data_dir.parent / f"cli-{uuid.uuid4().hex[:6]}.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    added = cli("data-sources", "add", "files", f"sqlite:///{path}", "--timeout", "10", role="admin")
    assert added.exit_code == 0 and "sqlite" in added.output


def test_jobs_are_shown_and_cancelled(cli: Invoke, server: Any, new_org: Any) -> None:
    with Client(server.url, new_org.keys["editor"]) as client:
        run = client.start_sql(SLOW_SQL + " -- cli")
    assert run.job is not None
    shown = cli("jobs", "show", str(run.job.id))
    assert shown.exit_code == 0 and str(run.job.id) in shown.output
    cancelled = cli("jobs", "cancel", str(run.job.id))
    assert cancelled.exit_code == 0 and "CANCELLED" in cancelled.output


def test_schedules_are_listed_and_triggered(cli: Invoke, server: Any, new_org: Any) -> None:
    with Client(server.url, new_org.keys["editor"]) as client:
        query = client.queries.create("nightly", "SELECT 1 AS one")
        schedule = client.schedules.create(query.id, cron="0 3 * * *", name="nightly")
    assert "nightly" in cli("schedules", "list", role="viewer").output
    triggered = cli("schedules", "trigger", str(schedule.id))
    assert triggered.exit_code == 0 and "job" in triggered.output


def test_the_installed_command_writes_a_parquet_file(server: Any, new_org: Any, tmp_path: Path) -> None:
    executable = shutil.which("openlytics")
    assert executable is not None, "the console script is not installed"
    target = tmp_path / "x.parquet"
    env = {**os.environ, "OPENLYTICS_API_KEY": new_org.keys["editor"]}
    sql = numbered(2500, "n AS id, 'n' || n AS name, DATE '2024-01-01' + n AS day")
    done = subprocess.run(
        [executable, "query", "run", "--url", server.url, "--sql", sql, "--output", str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    table = pq.read_table(target)
    assert table.num_rows == 2500 and table.column_names == ["id", "name", "day"]
    assert table.schema.field("day").type == pa.date32()
    assert table.column("name")[2499].as_py() == "n2499"
