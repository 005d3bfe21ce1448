"""What is measured: each scenario once on the raw engine and once through openlytics."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from openlytics.client import Client


def generation_sql(rows: int) -> str:
    """The table both sides query; deterministic, so both hold identical data."""
    return f"""
        CREATE OR REPLACE TABLE t AS
        SELECT
            range AS id,
            (range % 1000)::INTEGER AS k,
            (hash(range) % 100000) / 100.0 AS v,
            'item-' || (range % 5000) AS s,
            DATE '2024-01-01' + (range % 365)::INTEGER AS d
        FROM range({rows})
    """


GROUP_BY_SQL = "SELECT k, count(*) AS n, sum(v) AS total, avg(v) AS mean FROM t GROUP BY k ORDER BY k"


def fetch_sql(rows: int) -> str:
    """The rows fetched into Arrow and pandas."""
    return f"SELECT * FROM t WHERE id < {rows}"


@dataclass(frozen=True)
class Target:
    """A goal for openlytics: a ratio of medians or an added latency relative to the engine, or an
    absolute throughput (`rows` per median run must reach `limit` rows/s)."""

    kind: str  # "ratio", "difference" or "throughput"
    limit: float
    rows: int = 0

    def describe(self) -> str:
        """How the target reads in the report."""
        if self.kind == "throughput":
            return f"≥ {self.limit:,.0f} rows/s"
        return f"≤ {self.limit:g}x" if self.kind == "ratio" else f"≤ +{self.limit * 1000:g} ms"

    def met(self, engine: float, openlytics: float) -> bool:
        """Whether the medians meet the target."""
        if self.kind == "ratio":
            return openlytics <= engine * self.limit
        if self.kind == "throughput":
            return openlytics > 0 and self.rows / openlytics >= self.limit
        return openlytics - engine <= self.limit


@dataclass(frozen=True)
class Scenario:
    """One measurement: the same work done by the raw engine and through openlytics."""

    name: str
    engine: Callable[[], Any]
    openlytics: Callable[[], Any]
    repeat: int
    target: Target | None = None
    check: Callable[[Any, Any], None] | None = None
    rows: int | None = None  # rows each run moves: the report shows rows/s


def _same_row_count(engine: Any, openlytics: Any) -> None:
    assert engine.num_rows == openlytics.num_rows, (engine.num_rows, openlytics.num_rows)


def _same_frame_shape(engine: Any, openlytics: Any) -> None:
    assert engine.shape == openlytics.shape, (engine.shape, openlytics.shape)


def _same_groups(engine: Any, openlytics: Any) -> None:
    assert len(engine) == len(openlytics), (len(engine), len(openlytics))


def scenarios(
    con: duckdb.DuckDBPyConnection, client: Client, *, fetch_rows: int, quick: bool
) -> list[Scenario]:
    """Every scenario, with repetitions scaled down by `quick`."""
    fetch = fetch_sql(fetch_rows)
    few = 3 if quick else 10
    return [
        Scenario(
            "SELECT 1 (round trip)",
            engine=lambda: con.sql("SELECT 1").fetchall(),
            openlytics=lambda: client.run_sql("SELECT 1", max_age=0).rows,
            repeat=30 if quick else 200,
            target=Target("difference", 0.005),
        ),
        Scenario(
            "GROUP BY over the table",
            engine=lambda: con.sql(GROUP_BY_SQL).fetchall(),
            openlytics=lambda: client.run_sql(GROUP_BY_SQL, max_age=0).rows,
            repeat=few,
            check=_same_groups,
        ),
        Scenario(
            f"{fetch_rows:,} rows into Arrow",
            engine=lambda: con.sql(fetch).to_arrow_table(),
            openlytics=lambda: client.run_sql(fetch, max_age=0).to_arrow(),
            repeat=few,
            target=Target("ratio", 2.0),
            check=_same_row_count,
        ),
        Scenario(
            f"{fetch_rows:,} rows into pandas",
            engine=lambda: con.sql(fetch).df(),
            openlytics=lambda: client.run_sql(fetch, max_age=0).to_pandas(),
            repeat=few,
            check=_same_frame_shape,
        ),
    ]


# ----- dataset loads -------------------------------------------------------------------------------
LOAD_COLUMNS = {"id": "int64", "k": "int32", "v": "float64", "s": "string", "d": "date"}


@dataclass(frozen=True)
class LoadFiles:
    """The same rows of `t` as a CSV and a Parquet file, and as JSON-ready dicts for batch inserts."""

    csv: Path
    parquet: Path
    file_rows: int
    batch: list[dict[str, Any]]


def write_load_files(
    con: duckdb.DuckDBPyConnection, directory: Path, file_rows: int, batch_rows: int
) -> LoadFiles:
    """Export the first `file_rows` rows of `t` to files (by the engine) and `batch_rows` as dicts."""
    csv, parquet = directory / "load.csv", directory / "load.parquet"
    rows = f"SELECT * FROM t WHERE id < {file_rows} ORDER BY id"
    con.execute(f"COPY ({rows}) TO '{csv}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY ({rows}) TO '{parquet}' (FORMAT parquet)")
    cursor = con.execute(
        f"SELECT id, k, v, s, CAST(d AS VARCHAR) AS d FROM t WHERE id < {batch_rows} ORDER BY id"
    )
    names = [c[0] for c in cursor.description]
    batch = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return LoadFiles(csv, parquet, file_rows, batch)


def load_scenarios(
    con: duckdb.DuckDBPyConnection, client: Client, files: LoadFiles, *, quick: bool
) -> list[Scenario]:
    """File reloads (CSV, Parquet) against DuckDB's own readers, and a JSON batch insert."""
    few = 3 if quick else 5
    target = client.datasets.create(f"bench_load_{uuid.uuid4().hex[:8]}")
    inserts = client.datasets.create(f"bench_rows_{uuid.uuid4().hex[:8]}", LOAD_COLUMNS)
    con.execute("CREATE OR REPLACE TABLE batch_t (id BIGINT, k INTEGER, v DOUBLE, s VARCHAR, d DATE)")
    batch = files.batch

    def engine_insert() -> int:
        # The engine's own way in from Python: the dicts into Arrow, then one INSERT.
        incoming = pa.Table.from_pylist(batch)  # noqa: F841 - read by the SQL below
        con.execute("INSERT INTO batch_t SELECT id, k, v, s, CAST(d AS DATE) FROM incoming")
        return len(batch)

    return [
        Scenario(
            f"reload {files.file_rows:,}-row CSV file",
            engine=lambda: _engine_load(con, f"read_csv('{files.csv}')"),
            openlytics=lambda: client.datasets.reload(target, files.csv).row_count,
            repeat=few,
            target=Target("ratio", 1.5),
            check=_same_count,
            rows=files.file_rows,
        ),
        Scenario(
            f"reload {files.file_rows:,}-row Parquet file",
            engine=lambda: _engine_load(con, f"read_parquet('{files.parquet}')"),
            openlytics=lambda: client.datasets.reload(target, files.parquet).row_count,
            repeat=few,
            target=Target("ratio", 1.5),
            check=_same_count,
            rows=files.file_rows,
        ),
        Scenario(
            f"insert {len(batch):,} rows as JSON",
            engine=engine_insert,
            openlytics=lambda: client.datasets.append(inserts, batch).inserted,
            repeat=few,
            target=Target("throughput", 100_000, rows=len(batch)),
            check=_same_count,
            rows=len(batch),
        ),
    ]


def _engine_load(con: duckdb.DuckDBPyConnection, reader: str) -> int:
    con.execute(f"CREATE OR REPLACE TABLE load_t AS SELECT * FROM {reader}")
    row = con.execute("SELECT count(*) FROM load_t").fetchone()
    return int(row[0]) if row else 0


def _same_count(engine: Any, openlytics: Any) -> None:
    assert engine == openlytics, (engine, openlytics)
