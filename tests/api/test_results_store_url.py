"""A server whose results store is a filesystem URL: runs and downloads work, files land there."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import fsspec
import httpx
import pyarrow as pa

from openlytics.testing import LiveServer
from tests.conftest import make_settings
from tests.warehouse_sql import numbered

SQL = numbered(3000, "n AS id, 'name ' || n AS name")


def run_and_download(live: LiveServer) -> tuple[dict, dict[str, httpx.Response]]:
    """Run SQL too large to inline through the native API, then download it in three formats."""
    headers = {"Authorization": f"Bearer {live.admin_key}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=60) as client:
        run = client.post("/api/v1/runs", json={"sql": SQL, "wait": 30})
        assert run.status_code == 200, run.text
        result = run.json()["result"]
        assert result["row_count"] == 3000 and result["rows"] is None
        base = f"/api/v1/results/{result['id']}/data"
        downloads = {fmt: client.get(base, params={"format": fmt}) for fmt in ("json", "csv", "arrow")}
    assert all(response.status_code == 200 for response in downloads.values())
    return result, downloads


def check_downloads(downloads: dict[str, httpx.Response]) -> None:
    doc = json.loads(downloads["json"].content)
    assert len(doc["rows"]) == 3000 and doc["rows"][7] == {"id": 7, "name": "name 7"}
    rows = list(csv.DictReader(io.StringIO(downloads["csv"].text)))
    assert len(rows) == 3000 and rows[2999] == {"id": "2999", "name": "name 2999"}
    table = pa.ipc.open_stream(downloads["arrow"].content).read_all()
    assert table.num_rows == 3000 and table.column("name")[5].as_py() == "name 5"


def test_results_at_a_file_url_are_written_there_and_downloaded(tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared" / "results"
    settings, databases = make_settings(tmp_path / "data", "sqlite", results_url=f"file://{elsewhere}")
    try:
        with LiveServer(settings) as live:
            result, downloads = run_and_download(live)
    finally:
        databases.drop()
    check_downloads(downloads)
    # The Arrow download is the stored file itself, and it lives in the URL's directory.
    assert downloads["arrow"].content in [f.read_bytes() for f in elsewhere.rglob("*.arrows")]
    assert int(downloads["arrow"].headers["content-length"]) == result["byte_size"]
    assert not list((tmp_path / "data").rglob("*.arrows"))


def test_results_on_an_fsspec_filesystem_are_streamed_from_it(tmp_path: Path) -> None:
    root = f"results-{uuid.uuid4().hex}"
    memory = fsspec.filesystem("memory")
    settings, databases = make_settings(tmp_path / "data", "sqlite", results_url=f"memory://{root}")
    try:
        with LiveServer(settings) as live:
            result, downloads = run_and_download(live)
        check_downloads(downloads)
        stored = [memory.cat_file(path) for path in memory.find(f"/{root}") if path.endswith(".arrows")]
        # Not a local file: the Arrow download was relayed from the filesystem, whole, with its length.
        assert downloads["arrow"].content in stored
        assert int(downloads["arrow"].headers["content-length"]) == result["byte_size"]
        assert not list((tmp_path / "data").rglob("*.arrows"))
    finally:
        memory.rm(f"/{root}", recursive=True)
        databases.drop()
