"""Run-and-wait against a live server: rows, Arrow and pandas with types, polling, timeouts, cancel."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openlytics.client import (
    Client,
    JobStatus,
    QueryCancelledError,
    QueryFailedError,
    QueryTimeoutError,
)
from tests.client.conftest import SdkOrg
from tests.warehouse_sql import SLOW_SQL, digits_cross_join, numbered

TYPED_SQL = (
    "SELECT 1::INTEGER AS i, 2.5::DOUBLE AS f, 'x' AS s, true AS b, DATE '2024-01-02' AS d, "
    "TIMESTAMP '2024-01-02 03:04:05' AS ts, 1.25::DECIMAL(10,2) AS dec, NULL AS nothing"
)
# Slow enough to outlast a zero server-side wait, quick enough to finish (on either warehouse).
MEDIUM_SQL = digits_cross_join(6, "count(*) AS n")
MEDIUM_ROWS = 1_000_000


class CountingTransport(httpx.HTTPTransport):
    """Counts the HTTP exchanges the SDK makes."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


def test_a_small_query_is_one_round_trip_with_inlined_rows(org: SdkOrg) -> None:
    transport = CountingTransport()
    with org.client("editor", transport=transport) as client:
        result = client.run_sql("SELECT 42 AS answer, 'x' AS s")
        assert result.rows == [{"answer": 42, "s": "x"}]
    assert transport.paths == ["POST /api/v1/runs"]
    assert result.row_count == 1 and result.column_names == ["answer", "s"]
    assert result.job is not None and result.job.status is JobStatus.SUCCESS
    assert result.job.result_id == result.id


@pytest.mark.duckdb_warehouse  # an untyped NULL is a text column on PostgreSQL
def test_rows_come_back_as_python_types(org: SdkOrg) -> None:
    result = org.editor.run_sql(TYPED_SQL)
    assert {c.name: c.type for c in result.columns} == {
        "i": "integer",
        "f": "float",
        "s": "string",
        "b": "boolean",
        "d": "date",
        "ts": "datetime",
        "dec": "decimal",
        "nothing": "null",
    }
    row = result.rows[0]
    assert (row["i"], row["f"], row["s"], row["b"], row["nothing"]) == (1, 2.5, "x", True, None)
    assert row["d"] == dt.date(2024, 1, 2)
    assert isinstance(row["ts"], dt.datetime)
    assert row["ts"].replace(tzinfo=None) == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert decimal.Decimal(str(row["dec"])) == decimal.Decimal("1.25")


@pytest.mark.duckdb_warehouse  # DuckDB's type names (DOUBLE)
def test_to_arrow_and_to_pandas_keep_the_engine_types(org: SdkOrg) -> None:
    result = org.editor.run_sql(TYPED_SQL)
    table = result.to_arrow()
    assert isinstance(table, pa.Table)
    types = {field.name: field.type for field in table.schema}
    assert types["i"] == pa.int32() and types["f"] == pa.float64() and types["b"] == pa.bool_()
    assert types["d"] == pa.date32() and pa.types.is_timestamp(types["ts"])
    assert types["dec"] == pa.decimal128(10, 2)
    assert pa.types.is_string(types["s"]) or pa.types.is_large_string(types["s"])
    frame = result.to_pandas()
    assert list(frame.columns) == ["i", "f", "s", "b", "d", "ts", "dec", "nothing"]
    assert str(frame["i"].dtype) == "int32" and str(frame["f"].dtype) == "float64"
    assert str(frame["ts"].dtype).startswith("datetime64")
    assert frame["dec"][0] == decimal.Decimal("1.25")


def test_a_large_result_is_downloaded_when_its_rows_are_read(org: SdkOrg) -> None:
    transport = CountingTransport()
    with org.client("editor", transport=transport) as client:
        result = client.run_sql(numbered(5000, "n AS id, DATE '2024-01-01' + CAST(n AS INTEGER) AS day"))
        assert result.result.rows is None  # too many to inline
        rows = result.rows
        assert result.rows is rows  # fetched once
        assert transport.paths == ["POST /api/v1/runs", f"GET /api/v1/results/{result.id}/data"]
        table = result.to_arrow()
    assert len(rows) == 5000 and rows[10] == {"id": 10, "day": dt.date(2024, 1, 11)}
    assert table.num_rows == 5000 and table.column("id").to_pylist()[-1] == 4999


def test_results_download_to_files_in_every_format_with_progress(org: SdkOrg, tmp_path) -> None:
    result = org.editor.run_sql(numbered(5000, "n AS id, 'name ' || n AS name"))
    calls: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None) -> None:
        calls.append((done, total))

    written = result.download(tmp_path / "r.parquet", progress=progress)
    assert written == (tmp_path / "r.parquet").stat().st_size
    assert calls[0][0] == 0 and calls[-1][0] == written
    assert pq.read_table(tmp_path / "r.parquet").num_rows == 5000

    result.download(tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(newline="") as fh:
        assert list(csv.reader(fh))[:2] == [["id", "name"], ["0", "name 0"]]
    result.download(tmp_path / "r.arrow")
    with pa.ipc.open_stream(pa.OSFile(str(tmp_path / "r.arrow"))) as reader:
        assert reader.read_all().num_rows == 5000
    with (tmp_path / "r.data").open("wb") as fh:
        org.viewer.results.download(result.id, "json", fh)
    assert len(json.loads((tmp_path / "r.data").read_bytes())["rows"]) == 5000
    assert not list(tmp_path.glob("*.part"))


def test_a_run_still_going_after_the_server_wait_is_polled_to_its_result(org: SdkOrg) -> None:
    transport = CountingTransport()
    with org.client("editor", transport=transport) as client:
        client.max_server_wait = 0  # the POST answers 202 at once; the rest is polling
        result = client.run_sql(MEDIUM_SQL)
    assert result.rows == [{"n": MEDIUM_ROWS}]
    assert transport.paths[0] == "POST /api/v1/runs"
    assert transport.paths[1].startswith("GET /api/v1/jobs/")
    assert transport.paths[-1] == f"GET /api/v1/results/{result.id}"


def test_running_out_of_wait_raises_query_timeout_with_the_job_id(org: SdkOrg) -> None:
    with pytest.raises(QueryTimeoutError) as caught:
        org.editor.run_sql(SLOW_SQL + " -- timeout", wait=0.5)
    job_id = caught.value.job_id
    assert job_id is not None
    assert org.editor.jobs.get(job_id).status in (JobStatus.PENDING, JobStatus.STARTED)
    cancelled = org.editor.jobs.cancel(job_id)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(QueryCancelledError) as waited:
        org.editor.jobs.wait(job_id, timeout=10)
    assert waited.value.job_id == job_id


def test_start_sql_returns_the_job_without_waiting(org: SdkOrg) -> None:
    run = org.editor.start_sql(SLOW_SQL + " -- start")
    assert run.result is None and run.job is not None
    assert org.editor.jobs.cancel(run.job.id).status_name == "CANCELLED"


def test_bad_sql_raises_query_failed_with_the_engine_message(org: SdkOrg) -> None:
    with pytest.raises(QueryFailedError) as caught:
        org.editor.run_sql("SELECT * FROM no_such_table")
    error = caught.value
    assert error.code == "query_failed" and error.response is not None and error.response.status_code == 400
    assert "no_such_table" in error.message
    assert error.job_id is not None
    assert org.editor.jobs.get(error.job_id).error == error.message


def test_a_failure_seen_while_polling_raises_query_failed(org: SdkOrg) -> None:
    with org.client("editor") as client:
        client.max_server_wait = 0
        with pytest.raises(QueryFailedError, match=r"(?i)syntax error") as caught:
            client.run_sql("SELEC 1")
    assert caught.value.job_id is not None


def test_max_age_reuses_a_cached_result(org: SdkOrg) -> None:
    first = org.editor.run_sql("SELECT random() AS r", max_age=3600)
    second = org.editor.run_sql("SELECT random() AS r", max_age=3600)
    fresh = org.editor.run_sql("SELECT random() AS r", max_age=0)
    assert second.id == first.id and second.job is None and second.rows == first.rows
    assert fresh.id != first.id


def test_saved_queries_run_with_parameters(org: SdkOrg) -> None:
    query = org.editor.queries.create(
        "double",
        "SELECT {{ n }} * 2 AS twice, {{ day }} AS day",
        parameters=[
            {"name": "n", "type": "number"},
            {"name": "day", "type": "date", "default": "2024-05-01"},
        ],
    )
    result = org.viewer.queries.run(query.id, {"n": 21})
    assert result.rows == [{"twice": 42, "day": dt.date(2024, 5, 1)}]
    assert result.job is not None and result.job.query_id == query.id
    assert org.viewer.queries.get(query.id).latest_result_id == result.id


def test_a_client_wait_longer_than_the_server_allows_still_works(org: SdkOrg) -> None:
    with Client(org.url, org.keys["editor"], timeout=5) as client:
        assert client.run_sql("SELECT 1 AS one", wait=None).rows == [{"one": 1}]
