"""redash-toolbelt's client and its console scripts, unchanged, against a live server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.dialects.tonalytica.conftest import Tonalytica, script


def run_script(
    *args: str, cwd: Path | None = None, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDASH_API_KEY": key or ""}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False)


def test_redash_client_methods(ton: Tonalytica) -> None:
    r = ton.redash
    assert r.test_credentials() is True
    query = r.create_query(
        {
            "data_source_id": ton.warehouse_id,
            "name": "north",
            "query": "SELECT * FROM sales WHERE region = 'north'",
        }
    ).json()
    assert r.get_query(query["id"])["visualizations"][0]["type"] == "TABLE"
    copy = r.duplicate_query(query["id"], new_name="north copy")
    assert copy["name"] == "north copy"
    assert {q["name"] for q in r.paginate(r.queries)} == {"north", "north copy"}

    dashboard = r.create_dashboard("Ops")
    r.update_dashboard(dashboard["id"], {"tags": ["ops"], "is_draft": False})
    r.create_widget(
        dashboard["id"], None, "hello **team**", {"position": {"col": 0, "row": 0, "sizeX": 6, "sizeY": 2}}
    )
    r.create_widget(
        dashboard["id"],
        copy["visualizations"][0]["id"],
        "",
        {"position": {"col": 0, "row": 2, "sizeX": 3, "sizeY": 8}},
    )
    dup = r.duplicate_dashboard("ops")
    copied = r.dashboard(dup["slug"])
    assert copied["name"] == "Copy of: Ops" and copied["tags"] == ["ops"]
    assert [w["text"] for w in copied["widgets"]] == ["hello **team**", ""]
    assert copied["widgets"][1]["visualization"]["id"] == copy["visualizations"][0]["id"]

    users = r.users()
    assert users["count"] == 3
    assert r.disable_user(ton.org.editor_user_id)["is_disabled"] is True
    assert [d["id"] for d in r.get_data_sources()] == [ton.warehouse_id]


def test_export_queries_writes_one_file_per_query(ton: Tonalytica, tmp_path: Path) -> None:
    a = ton.redash.create_query(
        {"data_source_id": ton.warehouse_id, "name": "A", "query": "SELECT 1 AS one"}
    ).json()
    b = ton.redash.create_query(
        {"data_source_id": ton.warehouse_id, "name": "B", "query": "SELECT 2 AS two"}
    ).json()
    done = run_script(script("export-queries"), ton.base, "--api-key", ton.org.keys["admin"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in tmp_path.glob("query_*.sql"))
    assert files == sorted([f"query_{a['id']}.sql", f"query_{b['id']}.sql"])
    text = (tmp_path / f"query_{a['id']}.sql").read_text()
    assert "Name: A" in text and "Created By: admin" in text and text.rstrip().endswith("SELECT 1 AS one")


def test_find_tables_lists_the_tables_queries_read(ton: Tonalytica) -> None:
    ton.redash.create_query({"data_source_id": ton.warehouse_id, "name": "s", "query": "SELECT * FROM sales"})
    ton.redash.create_query(
        {
            "data_source_id": ton.warehouse_id,
            "name": "j",
            "query": "SELECT * FROM sales s JOIN sales t ON s.id = t.id",
        }
    )
    done = run_script(script("find-tables"), ton.base, ton.org.keys["admin"], str(ton.warehouse_id))
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "sales" in line)
    assert line.split("|")[1].strip() == "2"


def test_gdpr_scrub_finds_a_term_in_queries_results_and_dashboards(ton: Tonalytica) -> None:
    in_text = ton.redash.create_query(
        {
            "data_source_id": ton.warehouse_id,
            "name": "t",
            "query": "SELECT 'x' WHERE 'jane@example.com' <> ''",
        }
    ).json()
    in_result = ton.redash.create_query(
        {"data_source_id": ton.warehouse_id, "name": "r", "query": "SELECT 'JANE' || '@example.com' AS who"}
    ).json()
    ton.admin.refresh_query(in_result["id"])
    clean = ton.redash.create_query(
        {"data_source_id": ton.warehouse_id, "name": "c", "query": "SELECT 1"}
    ).json()
    ton.admin.refresh_query(clean["id"])
    dashboard = ton.redash.create_dashboard("People")
    ton.redash.create_widget(dashboard["id"], None, "Contact jane@example.com", {})
    done = run_script(script("gdpr-scrub"), ton.base, "jane@example.com", key=ton.org.keys["admin"])
    assert done.returncode == 0, done.stderr
    urls = {line.strip() for line in done.stdout.splitlines() if line.startswith(ton.base)}
    assert urls == {
        f"{ton.base}/queries/{in_text['id']}",
        f"{ton.base}/queries/{in_result['id']}",
        f"{ton.base}/dashboards/people",
    }


def test_clone_dashboard_and_queries(ton: Tonalytica) -> None:
    query = ton.redash.create_query(
        {
            "data_source_id": ton.warehouse_id,
            "name": "totals",
            "query": "SELECT region, sum(amount) AS t FROM sales GROUP BY 1",
        }
    ).json()
    ton.admin.refresh_query(query["id"])
    chart = ton.admin.create_visualization(
        query["id"], "pie", "Share", x_axis="region", y_axis=[{"name": "t"}]
    ).json()
    dashboard = ton.redash.create_dashboard("Board")
    ton.redash.update_dashboard(dashboard["id"], {"tags": ["weekly"]})
    ton.redash.create_widget(
        dashboard["id"], chart["id"], "", {"position": {"col": 0, "row": 0, "sizeX": 3, "sizeY": 8}}
    )
    ton.redash.create_widget(
        dashboard["id"], None, "notes", {"position": {"col": 3, "row": 0, "sizeX": 3, "sizeY": 8}}
    )

    done = run_script(
        script("clone-dashboard-and-queries"), ton.base, "board", "--api-key", ton.org.keys["admin"], "NEW "
    )
    assert done.returncode == 0, done.stderr + done.stdout
    clone = ton.redash.dashboard("copy-of-board")
    assert clone["tags"] == ["weekly"]
    viz_widget = next(w for w in clone["widgets"] if "visualization" in w)
    new_query = viz_widget["visualization"]["query"]
    assert new_query["name"] == "NEW totals" and new_query["id"] != query["id"]
    assert viz_widget["visualization"]["options"] == chart["options"]
    assert [w["text"] for w in clone["widgets"] if "visualization" not in w] == ["notes"]


def test_redash_client_queries_alerts_and_favorites(ton: Tonalytica) -> None:
    r = ton.redash
    query = r.create_query(
        {"data_source_id": ton.warehouse_id, "name": "n", "query": "SELECT count(*) AS n FROM sales"}
    ).json()
    r.update_query(
        query["id"], {"schedule": {"interval": 3600, "time": None, "day_of_week": None, "until": None}}
    )
    assert [q["id"] for q in r.scheduled_queries()] == [query["id"]]
    assert r.queries(page=1, page_size=10)["count"] == 1
    viz_id = r.get_query(query["id"])["visualizations"][0]["id"]
    r.update_visualization(viz_id, {"name": "Rows", "options": {"itemsPerPage": 25}})
    assert r.get_query(query["id"])["visualizations"][0]["options"] == {"itemsPerPage": 25}

    alert = r.create_alert("few", {"column": "n", "op": "<", "value": 10}, query["id"])
    r.update_alert(alert["id"], name="very few", rearm=60)
    assert r.get_alert(alert["id"])["name"] == "very few"
    assert [a["name"] for a in r.alerts()] == ["very few"]

    dashboard = r.create_dashboard("Fav")
    r.create_favorite("dashboard", dashboard["id"])
    r.create_favorite("query", query["id"])
    assert [d["id"] for d in r.dashboards(only_favorites=True)["results"]] == [dashboard["id"]]
    assert r.get_dashboard(dashboard["id"])["is_favorite"] is True
    assert r.get_data_source(ton.warehouse_id)["type"] == "warehouse"


@pytest.mark.postgres
def test_redash_client_creates_a_postgres_data_source_and_queries_it(ton: Tonalytica) -> None:
    created = ton.redash.create_data_source(
        "local pg", "pg", {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
    ).json()
    assert created["type"] == "postgresql"
    result = ton.admin.query_and_wait_result(created["id"], "SELECT 40 + 2 AS answer", timeout=30).json()
    assert result["query_result"]["data"]["rows"] == [{"answer": 42}]
    bad = ton.http.post("/api/data_sources", json={"name": "x", "type": "oracle", "options": {}})
    assert bad.status_code == 400
