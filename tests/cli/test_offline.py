"""CLI behaviour that needs no server: argument checks, parameter parsing, errors on one red line."""

from __future__ import annotations

import socket

import pytest
import typer
from typer.testing import CliRunner

from openlytics.cli.main import app
from openlytics.cli.query_run import parse_parameters

runner = CliRunner()


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_parameters_stay_strings_unless_json_and_repeat_into_lists() -> None:
    assert parse_parameters(["n=42", "r=[1, 2]", 'd={"start": "2024-01-01"}', "c=a", "c=b", "e="]) == {
        "n": "42",
        "r": [1, 2],
        "d": {"start": "2024-01-01"},
        "c": ["a", "b"],
        "e": "",
    }


@pytest.mark.parametrize("bad", ["novalue", "=x", "j=[1,"])
def test_malformed_parameters_are_rejected(bad: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_parameters([bad])


def test_query_run_needs_exactly_one_of_sql_and_query_id() -> None:
    both = runner.invoke(app, ["query", "run", "--sql", "SELECT 1", "--query-id", "3", "--url", dead_url()])
    neither = runner.invoke(app, ["query", "run", "--url", dead_url()])
    for result in (both, neither):
        assert result.exit_code == 1
        assert "exactly one of --sql or --query-id" in result.output


def test_an_unknown_output_suffix_is_refused_before_running() -> None:
    result = runner.invoke(app, ["query", "run", "--sql", "SELECT 1", "-o", "x.xlsx", "--url", dead_url()])
    assert result.exit_code == 1
    assert "cannot tell the format" in result.output


def test_an_unreachable_server_is_one_line_without_traceback() -> None:
    url = dead_url()
    result = runner.invoke(app, ["me", "--url", url, "--api-key", "k"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: cannot reach")
    assert url in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_every_command_group_has_help() -> None:
    for group in ("users", "api-keys", "data-sources", "queries", "query", "jobs", "schedules"):
        result = runner.invoke(app, [group, "--help"])
        assert result.exit_code == 0, (group, result.output)
