"""Demo content for `openlytics serve --demo`: a small shop in the warehouse and a few queries."""

from __future__ import annotations

import logging
from typing import Any

from openlytics.app import Openlytics
from openlytics.core.principal import Principal
from openlytics.store.models import Query

log = logging.getLogger(__name__)

DEMO_TAG = "demo"

TABLES_SQL = """
CREATE TABLE IF NOT EXISTS customers AS
SELECT i AS customer_id,
       'Customer ' || i AS name,
       (['France', 'Germany', 'Spain', 'Italy', 'United Kingdom', 'United States'])[1 + i % 6] AS country,
       DATE '2023-01-01' + CAST(i % 700 AS INTEGER) AS signed_up_on
FROM range(1, 2001) AS t(i);

CREATE TABLE IF NOT EXISTS products AS
SELECT i AS product_id,
       (['Notebook', 'Pen', 'Backpack', 'Lamp', 'Mug', 'Headphones', 'Chair', 'Desk'])[i] AS name,
       (['Stationery', 'Stationery', 'Bags', 'Home', 'Home', 'Electronics', 'Furniture', 'Furniture'])[i]
           AS category,
       ([4.5, 1.2, 39.0, 24.9, 8.5, 79.0, 129.0, 249.0])[i] AS unit_price
FROM range(1, 9) AS t(i);

CREATE TABLE IF NOT EXISTS orders AS
SELECT i AS order_id,
       1 + (hash(i) % 2000) AS customer_id,
       1 + (hash(i * 7) % 8) AS product_id,
       1 + (hash(i * 13) % 5) AS quantity,
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (hash(i * 31) % (730 * 24 * 60)) MINUTE AS ordered_at
FROM range(1, 100001) AS t(i);
"""

# The same tables on a PostgreSQL warehouse (docs/scale-out.md).
POSTGRES_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS customers AS
SELECT i AS customer_id,
       'Customer ' || i AS name,
       (ARRAY['France', 'Germany', 'Spain', 'Italy', 'United Kingdom', 'United States'])[1 + i % 6]
           AS country,
       DATE '2023-01-01' + CAST(i % 700 AS INTEGER) AS signed_up_on
FROM generate_series(1::bigint, 2000) AS t(i);

CREATE TABLE IF NOT EXISTS products AS
SELECT i AS product_id,
       (ARRAY['Notebook', 'Pen', 'Backpack', 'Lamp', 'Mug', 'Headphones', 'Chair', 'Desk'])[i] AS name,
       (ARRAY['Stationery', 'Stationery', 'Bags', 'Home', 'Home', 'Electronics', 'Furniture', 'Furniture'])[i]
           AS category,
       (ARRAY[4.5, 1.2, 39.0, 24.9, 8.5, 79.0, 129.0, 249.0])[i] AS unit_price
FROM generate_series(1::bigint, 8) AS t(i);

CREATE TABLE IF NOT EXISTS orders AS
SELECT i AS order_id,
       1 + (abs(hashint8(i)::bigint) % 2000) AS customer_id,
       1 + (abs(hashint8(i * 7)::bigint) % 8) AS product_id,
       1 + (abs(hashint8(i * 13)::bigint) % 5) AS quantity,
       TIMESTAMP '2024-01-01 00:00:00'
           + make_interval(mins => CAST(abs(hashint8(i * 31)::bigint) % (730 * 24 * 60) AS INTEGER))
           AS ordered_at
FROM generate_series(1::bigint, 100000) AS t(i);
"""
TABLES_SQL_BY_DIALECT = {"duckdb": TABLES_SQL, "postgresql": POSTGRES_TABLES_SQL}

QUERIES: list[dict[str, Any]] = [
    {
        "name": "Revenue by month",
        "description": "Monthly revenue over a date range.",
        "sql": (
            "SELECT date_trunc('month', o.ordered_at) AS month,\n"
            "       round(sum(o.quantity * p.unit_price), 2) AS revenue,\n"
            "       count(*) AS orders\n"
            "FROM orders o JOIN products p USING (product_id)\n"
            "WHERE o.ordered_at >= {{ period.start }} AND o.ordered_at < {{ period.end }}\n"
            "GROUP BY 1 ORDER BY 1"
        ),
        "parameters": [
            {
                "name": "period",
                "title": "Period",
                "type": "date_range",
                "default": {"start": "2024-01-01", "end": "2025-12-31"},
            }
        ],
        "tags": [DEMO_TAG, "revenue"],
    },
    {
        "name": "Top customers",
        "description": "Customers by revenue, optionally in some countries.",
        "sql": (
            "SELECT c.name, c.country, round(sum(o.quantity * p.unit_price), 2) AS revenue\n"
            "FROM orders o JOIN customers c USING (customer_id) JOIN products p USING (product_id)\n"
            "WHERE c.country IN ({{ countries }})\n"
            "GROUP BY 1, 2 ORDER BY revenue DESC LIMIT {{ top }}"
        ),
        "parameters": [
            {
                "name": "countries",
                "title": "Countries",
                "type": "enum",
                "options": {
                    "values": ["France", "Germany", "Spain", "Italy", "United Kingdom", "United States"],
                    "multi": True,
                },
                "default": ["France", "Germany"],
            },
            {"name": "top", "title": "How many", "type": "number", "default": 10},
        ],
        "tags": [DEMO_TAG, "customers"],
    },
    {
        "name": "Sales by category",
        "description": "Units and revenue per product category.",
        "sql": (
            "SELECT p.category, sum(o.quantity) AS units,\n"
            "       round(sum(o.quantity * p.unit_price), 2) AS revenue\n"
            "FROM orders o JOIN products p USING (product_id)\n"
            "GROUP BY 1 ORDER BY revenue DESC"
        ),
        "parameters": [],
        "tags": [DEMO_TAG],
    },
]


def load_demo(app: Openlytics) -> int:
    """Create the demo tables and queries in the first organization, once; the number of queries made."""
    orgs = app.identity.organizations()
    if not orgs:
        return 0
    principal = Principal.system(orgs[0].id)
    if app.queries.list(principal, tag=DEMO_TAG, include_archived=True).total:
        return 0
    dialect = app.sources.sql_dialect(app.sources.default(principal)) or "duckdb"
    for statement in filter(None, (s.strip() for s in TABLES_SQL_BY_DIALECT[dialect].split(";"))):
        outcome = app.jobs.run_adhoc(principal, statement, wait=60)
        if outcome.result is None:
            raise RuntimeError(f"demo table creation failed: {outcome.job and outcome.job.error}")
    created = [app.queries.create(principal, **spec) for spec in QUERIES]
    app.schedules.create(
        principal,
        kind="query_refresh",
        target_id=created[2].id,
        interval_seconds=3600,
        name="Refresh sales by category hourly",
    )
    for query in created:
        app.jobs.run_saved(principal, query.id, wait=30)
    _demo_dashboard(app, principal, created)
    log.info("demo content loaded: %d queries and a dashboard", len(created))
    return len(created)


def _demo_dashboard(app: Openlytics, principal: Principal, queries: list[Query]) -> None:
    """A dashboard over the demo queries: a line chart, a bar chart, a table and a note."""
    revenue, top, categories = queries
    line = app.visualizations.create(
        principal,
        query_id=revenue.id,
        type="CHART",
        name="Revenue",
        options={"globalSeriesType": "line", "columnMapping": {"month": "x", "revenue": "y"}},
    )
    bars = app.visualizations.create(
        principal,
        query_id=categories.id,
        type="CHART",
        name="Revenue by category",
        options={"globalSeriesType": "column", "columnMapping": {"category": "x", "revenue": "y"}},
    )
    table = app.visualizations.for_queries(principal, [top.id])[top.id][0]
    dashboard = app.dashboards.create(principal, name="Sales overview", tags=[DEMO_TAG], is_draft=False)
    placements = [
        (None, "## Sales overview\nDemo data: 100,000 orders over two years.", (0, 0, 6, 2)),
        (line.id, "", (0, 2, 3, 8)),
        (bars.id, "", (3, 2, 3, 8)),
        (table.id, "", (0, 10, 6, 8)),
    ]
    for viz_id, text, (col, row, size_x, size_y) in placements:
        app.dashboards.add_widget(
            principal,
            dashboard_id=dashboard.id,
            visualization_id=viz_id,
            text=text,
            options={"position": {"col": col, "row": row, "sizeX": size_x, "sizeY": size_y}},
        )
