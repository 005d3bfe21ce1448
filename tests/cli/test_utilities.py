"""The four utilities (export-queries, find-tables, gdpr-scrub, clone-dashboard) against a live server."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from openlytics.client import Client, Dashboard
from openlytics.sql_tables import tables_in
from tests.cli.conftest import Invoke
from tests.warehouse_sql import numbered

POSITION = {"col": 0, "row": 0, "sizeX": 3, "sizeY": 8}


# ----- find-tables: the parser alone --------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "dialect", "tables"),
    [
        (
            "SELECT * FROM orders o JOIN sales.customers c ON o.cid = c.id",
            "duckdb",
            ["orders", "sales.customers"],
        ),
        ("WITH recent AS (SELECT * FROM orders) SELECT * FROM recent", "duckdb", ["orders"]),
        (
            "WITH Recent AS (SELECT 1) SELECT * FROM recent JOIN recent_orders USING (id)",
            "postgres",
            ["recent_orders"],
        ),
        ("SELECT * FROM range(10) r, read_csv('x.csv') f, people", "duckdb", ["people"]),
        ("SELECT * FROM t WHERE day >= {{ period.start }} AND name = '{{ who }}'", "duckdb", ["t"]),
        ('SELECT * FROM "Sales Data"."Q1" UNION SELECT * FROM q2', "postgres", ["Sales Data.Q1", "q2"]),
        ("SELECT * FROM `Sales Data`.`Q1`", "mysql", ["Sales Data.Q1"]),
        ("SELECT * FROM a.b.c", None, ["a.b.c"]),
        ("SELECT (SELECT max(x) FROM inner_t) FROM outer_t; SELECT 1", "sqlite", ["inner_t", "outer_t"]),
        ("INSERT INTO archive SELECT * FROM db.events", "mysql", ["db.events"]),
        ("CREATE TABLE summary (n int)", "postgres", []),
        ("CREATE TABLE summary AS SELECT count(*) FROM public.events", "postgres", ["public.events"]),
    ],
)
def test_tables_are_found_by_parsing_not_by_pattern(sql: str, dialect: str | None, tables: list[str]) -> None:
    assert tables_in(sql, dialect) == tables


# ----- against the server -------------------------------------------------------------------
def test_export_queries_writes_one_file_per_query_with_a_metadata_header(
    cli: Invoke, server: Any, new_org: Any, tmp_path: Path
) -> None:
    with Client(server.url, new_org.keys["editor"]) as client:
        plain = client.queries.create("Daily revenue", "SELECT 42 AS revenue\n")
        params = client.queries.create(
            "Top\nproducts",
            "SELECT {{ n }} AS n",
            parameters=[{"name": "n", "type": "number", "default": 5}],
            tags=["sales", "top"],
        )
        archived = client.queries.create("Old", "SELECT 0")
        client.queries.archive(archived.id)
    target = tmp_path / "export"
    result = cli("export-queries", "--dir", str(target), role="viewer")
    assert result.exit_code == 0, result.output
    assert "Exported 2 queries" in result.stderr and "Queries" in result.stderr  # the progress bar's label
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [f"query_{plain.id}.sql", f"query_{params.id}.sql"]
    )
    text = (target / f"query_{params.id}.sql").read_text()
    header, sql = text.split("\n\n", 1)
    lines = dict(line[3:].split(": ", 1) for line in header.splitlines())
    assert lines["id"] == str(params.id) and lines["name"] == "Top products"
    assert (
        lines["author"] == "editor" and lines["tags"] == "sales, top" and lines["data source"].endswith(")")
    )
    assert json.loads(lines["parameters"])[0]["name"] == "n" and lines["updated at"].startswith("20")
    assert sql == "SELECT {{ n }} AS n\n"
    assert (target / f"query_{plain.id}.sql").read_text().endswith("\n\nSELECT 42 AS revenue\n")
    with_archived = cli("export-queries", "--dir", str(tmp_path / "all"), "--archived")
    assert len(list((tmp_path / "all").iterdir())) == 3, with_archived.output


def test_find_tables_counts_tables_including_joins_and_ignores_cte_names(
    cli: Invoke, server: Any, new_org: Any
) -> None:
    # find-tables parses the saved SQL: the tables need not exist (nor could `sales` on a PostgreSQL
    # warehouse, where an organization has one schema).
    path = server.settings.data_dir.parent / f"tables-{uuid.uuid4().hex[:6]}.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (x INTEGER)")
    with Client(server.url, new_org.keys["admin"]) as client:
        warehouse = next(s for s in client.data_sources.list() if s.is_default)
        files = client.data_sources.create("files", f"sqlite:///{path}")
        joined = client.queries.create(
            "joined", "SELECT * FROM orders o JOIN sales.customers c ON o.cid = c.id"
        )
        client.queries.create(
            "recent",
            "WITH recent AS (SELECT * FROM orders WHERE cid > {{ min }}) SELECT count(*) FROM recent",
            parameters=[{"name": "min", "type": "number", "default": 0}],
        )
        client.queries.create("invoices", "SELECT * FROM invoices", data_source_id=files.id)
        broken = client.queries.create("broken", "SELECT FROM WHERE ((")
    summary = cli("find-tables", str(warehouse.id), role="viewer")
    assert summary.exit_code == 0, summary.output
    rows = [line.split("│")[1:3] for line in summary.stdout.splitlines() if line.count("│") == 3]
    counts = {name.strip(): n.strip() for name, n in rows}
    assert counts == {"orders": "2", "sales.customers": "1"}
    assert f"query {broken.id} not parsed" in summary.stderr
    detail = cli("find-tables", str(warehouse.id), "--detail", "--json")
    uses = json.loads(detail.stdout)["uses"]
    assert {(u["query_id"], u["table"]) for u in uses if u["query_id"] == joined.id} == {
        (joined.id, "orders"),
        (joined.id, "sales.customers"),
    }
    assert "recent" not in {u["table"] for u in uses}
    other = cli("find-tables", str(files.id), "--detail")
    assert "invoices" in other.stdout and "orders" not in other.stdout
    assert cli("find-tables", "999999").exit_code == 1


def test_gdpr_scrub_finds_a_term_in_sql_a_result_and_a_text_widget_only(
    cli: Invoke, server: Any, new_org: Any
) -> None:
    term = "jane.doe@example.com"
    with Client(server.url, new_org.keys["editor"]) as client:
        in_sql = client.queries.create("by mail", numbered(3, where=f"'x' = '{term}'"))
        # The address is only in the data (built from pieces), at the end of a result too long to inline.
        in_result = client.queries.create(
            "mails",
            numbered(
                20001,
                "CASE WHEN n < 20000 THEN 'user' || n || '@example.org' "
                "ELSE 'Jane' || '.Doe@' || 'Example.com' END AS email",
            ),
        )
        client.queries.run(in_result.id)
        clean = client.queries.create("clean", "SELECT 'jane' AS first_name, 'doe' AS last_name")
        client.queries.run(clean.id)
        noted = client.dashboards.create("Contacts")
        client.dashboards.add_widget(noted.id, text="Questions? Ask JANE.DOE@example.com", position=POSITION)
        other = client.dashboards.create("Traffic")
        client.dashboards.add_widget(other.id, text="Nothing personal here", position=POSITION)
        [table] = list(client.visualizations.list(clean.id))
        client.dashboards.add_widget(other.id, table.id)
    result = cli("gdpr-scrub", term, role="viewer")
    assert result.exit_code == 0, result.output
    urls = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert sorted(urls[:2]) == sorted(
        [f"{server.url}/queries/{in_sql.id}", f"{server.url}/queries/{in_result.id}"]
    )
    assert urls[2:] == [f"{server.url}/dashboards/{noted.slug}"]
    assert "Queries" in result.stderr and "Dashboards" in result.stderr and "3 found" in result.stderr
    details = {f["id"]: f["places"] for f in json.loads(cli("gdpr-scrub", term, "--json").stdout)}
    assert details == {in_sql.id: ["sql"], in_result.id: ["result"], noted.id: ["text widget"]}
    nothing = cli("gdpr-scrub", "nobody@nowhere.test")
    assert nothing.exit_code == 0 and nothing.stdout.strip() == ""


def _assert_copy(original: Dashboard, copy: Dashboard, source: Client, target: Client, prefix: str) -> None:
    assert copy.name == prefix + original.name and copy.tags == original.tags
    assert [w.position for w in copy.widgets] == [w.position for w in original.widgets]
    assert [w.text for w in copy.widgets] == [w.text for w in original.widgets]
    for old, new in zip(original.widgets, copy.widgets, strict=True):
        if old.visualization is None:
            assert new.visualization is None
            continue
        assert new.visualization is not None and new.visualization.id != old.visualization.id
        assert (new.visualization.type, new.visualization.name, new.visualization.options) == (
            old.visualization.type,
            old.visualization.name,
            old.visualization.options,
        )
        old_query, new_query = (
            source.queries.get(old.visualization.query_id),
            target.queries.get(new.visualization.query_id),
        )
        assert new_query.id != old_query.id and new_query.name == prefix + old_query.name
        assert new_query.sql == old_query.sql
        old_vizs = [(v.type, v.name) for v in source.visualizations.list(old_query.id)]
        assert [(v.type, v.name) for v in target.visualizations.list(new_query.id)] == old_vizs


def _dashboard_to_copy(client: Client, name: str) -> Dashboard:
    query = client.queries.create(
        f"{name} regions", "SELECT * FROM (VALUES ('north', 7), ('south', 3)) t(region, n)"
    )
    client.queries.run(query.id)
    [table] = list(client.visualizations.list(query.id))
    chart = client.visualizations.create(
        query.id, "CHART", "Units by region", options={"columnMapping": {"region": "x", "n": "y"}}
    )
    board = client.dashboards.create(name, tags=["regions"])
    client.dashboards.add_widget(board.id, chart.id, position={"col": 0, "row": 0, "sizeX": 4, "sizeY": 8})
    client.dashboards.add_widget(board.id, table.id, position={"col": 4, "row": 0, "sizeX": 2, "sizeY": 8})
    client.dashboards.add_widget(
        board.id, text="Units sold", position={"col": 0, "row": 8, "sizeX": 6, "sizeY": 2}
    )
    return client.dashboards.get(board.id)


def test_clone_dashboard_within_one_server_forks_its_queries(cli: Invoke, server: Any, new_org: Any) -> None:
    with Client(server.url, new_org.keys["editor"]) as client:
        original = _dashboard_to_copy(client, "Regions")
        result = cli("clone-dashboard", original.slug, "--prefix", "Copy: ")
        assert result.exit_code == 0, result.output
        [copy] = [d for d in client.dashboards.list() if d.name == "Copy: Regions"]
        assert f"{server.url}/dashboards/{copy.slug}" in result.stdout
        copy = client.dashboards.get(copy.id)
        _assert_copy(original, copy, client, client, "Copy: ")
        forked = client.queries.get(copy.widgets[0].visualization.query_id)  # type: ignore[union-attr]
        assert forked.forked_from_id == original.widgets[0].visualization.query_id  # type: ignore[union-attr]
        assert len({w.query_id for w in copy.widgets if w.query_id}) == 1  # one query, forked once


def test_clone_dashboard_to_another_organization_creates_its_queries_there(
    cli: Invoke, server: Any, new_org: Any
) -> None:
    name = f"Board {uuid.uuid4().hex[:6]}"
    with Client(server.url, server.admin_key) as first, Client(server.url, new_org.keys["editor"]) as second:
        original = _dashboard_to_copy(first, name)
        result = cli(
            "clone-dashboard",
            str(original.id),
            "--prefix",
            "[ext] ",
            "--api-key",
            server.admin_key,
            "--to-url",
            server.url,
            "--to-api-key",
            new_org.keys["editor"],
        )
        assert result.exit_code == 0, result.output
        [copy] = [d for d in second.dashboards.list() if d.name == f"[ext] {name}"]
        copy = second.dashboards.get(copy.id)
        _assert_copy(original, copy, first, second, "[ext] ")
        warehouse = next(s for s in second.data_sources.list() if s.is_default)
        created = second.queries.get(copy.widgets[0].visualization.query_id)  # type: ignore[union-attr]
        assert created.data_source_id == warehouse.id and created.forked_from_id is None
        assert second.queries.run(created.id).rows == [
            {"region": "north", "n": 7},
            {"region": "south", "n": 3},
        ]
        assert not [d for d in first.dashboards.list() if d.name.startswith("[ext]")]
