"""`openlytics datasets ...` against a live server."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from tests.cli.conftest import Invoke


def test_create_load_export_versions_and_restore(cli: Invoke, tmp_path: Path) -> None:
    name = f"sales_{uuid.uuid4().hex[:6]}"
    created = cli(
        "datasets", "create", name, "--column", "id:int64", "-c", "amount:float", "--primary-key", "id"
    )
    assert created.exit_code == 0, created.output
    assert f"Created dataset {name}" in created.output

    listed = cli("datasets", "list", "--json", role="viewer")
    assert listed.exit_code == 0, listed.output
    [entry] = [d for d in json.loads(listed.output) if d["name"] == name]
    assert entry["columns"] == [{"name": "id", "type": "int64"}, {"name": "amount", "type": "float64"}]

    first = tmp_path / "first.csv.gz"
    first.write_bytes(gzip.compress(b"id;amount;city\n1;2,5;Bern\n2;3;Basel\n"))
    loaded = cli("datasets", "load", name, first, "--separator", ";", "--force-type", "city=string")
    assert loaded.exit_code == 0, loaded.output
    assert f"Loaded 2 rows into {name}: 2 rows, version 2" in loaded.output
    assert "Uploading first.csv.gz" in loaded.output

    more = tmp_path / "more.csv"
    more.write_text("id;amount;city\n3;4,5;Genf\n")
    appended = cli("datasets", "load", name, more, "-s", ";", "--append")
    assert appended.exit_code == 0, appended.output
    assert "Appended 1 rows" in appended.output and "3 rows, version 2" in appended.output

    out = tmp_path / "out.parquet"
    exported = cli("datasets", "export", name, out, role="viewer")
    assert exported.exit_code == 0, exported.output
    assert pq.read_table(out).column("city").to_pylist() == ["Bern", "Basel", "Genf"]
    as_csv = tmp_path / "v1.csv"
    assert cli("datasets", "export", name, as_csv, "--version", "1").exit_code == 0
    assert as_csv.read_text().splitlines() == ['"id","amount"']

    versions = cli("datasets", "versions", name, "--json")
    assert [v["version"] for v in json.loads(versions.output)] == [2, 1]
    table = cli("datasets", "versions", name)
    assert "Versions" in table.output and "reload" in table.output

    restored = cli("datasets", "restore", name, "1")
    assert restored.exit_code == 0, restored.output
    assert "Restored version 1" in restored.output and "as version 3 (0 rows)" in restored.output


def test_load_creates_on_request_and_reports_a_bad_row(cli: Invoke, tmp_path: Path) -> None:
    name = f"events_{uuid.uuid4().hex[:6]}"
    good = tmp_path / "good.csv"
    good.write_text("n,label\n1,a\n2,b\n")
    missing = cli("datasets", "load", name, good)
    assert missing.exit_code == 1 and f"no dataset named {name!r}" in missing.output
    created = cli("datasets", "load", name, good, "--create")
    assert created.exit_code == 0, created.output
    assert "n int64, label string" in created.output

    bad = tmp_path / "bad.csv"
    bad.write_text("n,label\n1,a\nx,b\n")
    failed = cli("datasets", "load", name, bad, "--force-type", "n=int")
    assert failed.exit_code == 1
    assert "[invalid_input]" in failed.output and "row 1, column 'n'" in failed.output
    shown = json.loads(cli("datasets", "versions", name, "--json").output)
    assert [v["version"] for v in shown] == [1]


def test_bad_arguments_fail_before_calling_the_server(cli: Invoke, tmp_path: Path) -> None:
    data = tmp_path / "data.xlsx"
    data.write_bytes(b"not really")
    assert "cannot tell the format" in cli("datasets", "load", "x", data).output
    assert cli("datasets", "create", "x", "--column", "nocolon").exit_code == 2
    csv = tmp_path / "d.csv"
    csv.write_text("a\n1\n")
    both = cli("datasets", "load", "x", csv, "--append", "--force-type", "a=int")
    assert both.exit_code == 1 and "--force-type applies to a reload" in both.output
    assert "cannot tell the format" in cli("datasets", "export", "x", tmp_path / "out.xlsx").output
