"""What is measured: each scenario once on the raw engine and once through openlytics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

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
    """A goal for openlytics relative to the engine: a ratio of medians or an added latency."""

    kind: str  # "ratio" or "difference"
    limit: float

    def describe(self) -> str:
        """How the target reads in the report."""
        return f"≤ {self.limit:g}x" if self.kind == "ratio" else f"≤ +{self.limit * 1000:g} ms"

    def met(self, engine: float, openlytics: float) -> bool:
        """Whether the medians meet the target."""
        if self.kind == "ratio":
            return openlytics <= engine * self.limit
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
