"""SQL that runs the same on both warehouses under test (DuckDB and PostgreSQL, OPENLYTICS_TEST_WAREHOUSE).

Tests that need many rows cannot use DuckDB's `range()` nor PostgreSQL's `generate_series()`, each one
engine's own; a recursive CTE and a cross join of VALUES are standard SQL.
"""

from __future__ import annotations

DIGITS = "WITH d(x) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) "


def numbered(count: int, select: str = "n", *, where: str = "TRUE") -> str:
    """`SELECT <select> FROM r WHERE <where> ORDER BY n`, where `r` has `count` rows numbered 0 to
    count - 1 in `n`."""
    return (
        f"WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < {count - 1}) "
        f"SELECT {select} FROM r WHERE {where} ORDER BY n"
    )


def digits_cross_join(copies: int, select: str) -> str:
    """`SELECT <select> FROM d a1, d a2, ...`: 10**copies rows of columns a1.x, a2.x, ... (digits)."""
    return DIGITS + f"SELECT {select} FROM " + ", ".join(f"d a{i}" for i in range(1, copies + 1))


# 10**11 rows to add up: minutes on either engine, unless cancelled or timed out.
SLOW_SQL = digits_cross_join(11, "sum(" + " + ".join(f"a{i}.x" for i in range(1, 12)) + ") AS s")
