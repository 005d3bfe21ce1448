"""Dashboard renders on Celery workers (docs/scale-out.md, "Renders"): with the celery executor a PNG,
PDF or document asked of the API is drawn by an `openlytics worker` consuming the `renders` queue,
which builds the dashboard's view itself from the task's JSON (principal, dashboard, options) and
hands the bytes back through the tasks' shared directory. A live API server, worker subprocesses,
PostgreSQL metadata, a PostgreSQL data source (the dashboard's query runs on a query worker) and
Redis."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from openlytics.render.document import DocumentOptions
from openlytics.render.service import RENDERS_DIR, RENDERS_QUEUE, RenderTimeoutError
from tests.runtime.celery_cluster import Cluster, WorkerProcess, module_cluster, wait_for

pytestmark = pytest.mark.timeout(180)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """An API server and one worker on the query queue; renders workers are started by the tests."""
    yield from module_cluster(tmp_path_factory.mktemp("renders"), workers=1)


@pytest.fixture
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    with cluster.client() as client:
        yield client


@pytest.fixture(scope="module")
def dashboard(cluster: Cluster) -> dict[str, Any]:
    """A dashboard of the admin's organization: a chart of a query run on the PostgreSQL source (by
    the query worker, its result in the shared results store) and a text box."""
    with cluster.client() as api:
        tag = uuid.uuid4().hex[:8]
        sql = "SELECT region, n FROM (VALUES ('north', 7), ('south', 3), ('east', 5)) AS t(region, n)"
        query = api.post(
            "/api/v1/queries",
            json={"name": f"regions {tag}", "sql": sql, "data_source_id": cluster.source_id},
        )
        assert query.status_code == 201, query.text
        ran = api.post(f"/api/v1/queries/{query.json()['id']}/run", json={"wait": 30})
        assert ran.status_code == 200, ran.text
        chart = api.post(
            "/api/v1/visualizations",
            json={
                "query_id": query.json()["id"],
                "type": "CHART",
                "options": {"globalSeriesType": "column", "columnMapping": {"region": "x", "n": "y"}},
            },
        )
        assert chart.status_code == 201, chart.text
        board = api.post("/api/v1/dashboards", json={"name": f"Regions {tag}"})
        assert board.status_code == 201, board.text
        widgets = [
            {"visualization_id": chart.json()["id"], "options": position(0, 0)},
            {"text": "# Regions", "options": position(3, 0)},
        ]
        for widget in widgets:
            placed = api.post(f"/api/v1/dashboards/{board.json()['id']}/widgets", json=widget)
            assert placed.status_code == 201, placed.text
        return dict(board.json())


def position(col: int, row: int) -> dict[str, Any]:
    return {"position": {"col": col, "row": row, "sizeX": 3, "sizeY": 8}}


def renders_worker(cluster: Cluster) -> WorkerProcess:
    """A live worker consuming the renders queue (started if there is none)."""
    for worker in cluster.workers:
        if worker.process.poll() is None and getattr(worker, "renders", False):
            return worker
    worker = cluster.add_worker(queue=RENDERS_QUEUE)
    worker.renders = True  # type: ignore[attr-defined]
    return worker


def stop_renders_workers(cluster: Cluster) -> None:
    for worker in cluster.workers:
        if getattr(worker, "renders", False):
            worker.stop()


def render_tasks(cluster: Cluster, since: int = 0) -> list[sa.Row[Any]]:
    """The render tasks recorded after task id `since`, oldest first."""
    with cluster.metadata() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT id, status, worker, queue, result, error FROM background_tasks"
                    " WHERE kind = 'render' AND id > :since ORDER BY id"
                ),
                {"since": since},
            )
        )


def last_task_id(cluster: Cluster) -> int:
    with cluster.metadata() as conn:
        return int(conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM background_tasks")).scalar_one())


def render_files(cluster: Cluster) -> list[str]:
    folder = cluster.server.core.tasks.files_dir / RENDERS_DIR
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


# ----- on a worker -----------------------------------------------------------------------------


def test_png_and_pdf_asked_of_the_api_are_drawn_by_a_renders_worker(
    cluster: Cluster, api: httpx.Client, dashboard: dict[str, Any]
) -> None:
    worker = renders_worker(cluster)
    since = last_task_id(cluster)
    image = api.get(f"/api/v1/dashboards/{dashboard['slug']}/image.png")
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/png" and image.content.startswith(PNG_SIGNATURE)
    thumbnail = api.get(f"/api/v1/dashboards/{dashboard['id']}/image.png", params={"thumbnail": True})
    assert thumbnail.status_code == 200 and thumbnail.content.startswith(PNG_SIGNATURE)
    assert len(thumbnail.content) < len(image.content)
    pdf = api.get(f"/api/v1/dashboards/{dashboard['id']}/document.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 1
    tasks = render_tasks(cluster, since)
    assert [t.status for t in tasks] == ["success"] * 3, tasks
    # Drawn by the worker process, not by the API process that answered.
    assert {t.worker for t in tasks} == {worker.name}
    assert worker.name != cluster.server.core.tasks.worker_name
    assert {t.queue for t in tasks} == {RENDERS_QUEUE}
    assert [t.result["content_type"] for t in tasks] == ["image/png", "image/png", "application/pdf"]
    assert render_files(cluster) == [], tasks  # read and deleted by the API process


def test_a_document_with_options_is_laid_out_on_the_worker(
    cluster: Cluster, dashboard: dict[str, Any]
) -> None:
    worker = renders_worker(cluster)
    since = last_task_id(cluster)
    core = cluster.server.core
    admin = core.identity.authenticate_api_key(cluster.server.admin_key)
    options = DocumentOptions(cover_page=True, filter_page=True, page_numbers=True, footer_text="Q4")
    document = core.renders.document(admin, dashboard["id"], options)
    # Cover, filter page, the dashboard: three pages, as drawn in-process.
    assert len(PdfReader(io.BytesIO(document)).pages) == 3
    [task] = render_tasks(cluster, since)
    assert task.status == "success" and task.worker == worker.name


def test_a_shared_dashboard_is_drawn_on_the_worker_until_its_link_is_revoked(
    cluster: Cluster, api: httpx.Client, dashboard: dict[str, Any]
) -> None:
    worker = renders_worker(cluster)
    shared = api.post(f"/api/v1/dashboards/{dashboard['id']}/share")
    assert shared.status_code in (200, 201), shared.text
    token = shared.json()["token"]
    since = last_task_id(cluster)
    with httpx.Client(base_url=cluster.server.url, timeout=60) as anonymous:
        image = anonymous.get(f"/public/dashboards/{token}.png")
        assert image.status_code == 200 and image.content.startswith(PNG_SIGNATURE)
        pdf = anonymous.get(f"/public/dashboards/{token}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert {t.worker for t in render_tasks(cluster, since)} == {worker.name}
        assert api.delete(f"/api/v1/dashboards/{dashboard['id']}/share").status_code == 204
        assert anonymous.get(f"/public/dashboards/{token}.png").status_code == 404


def test_another_organizations_dashboard_is_not_found_on_the_worker(
    cluster: Cluster, api: httpx.Client
) -> None:
    renders_worker(cluster)
    slug = f"org-{uuid.uuid4().hex[:10]}"
    created = api.post("/api/v1/organizations", json={"name": slug, "admin_email": f"admin@{slug}.test"})
    assert created.status_code == 201, created.text
    with cluster.client() as other:
        other.headers["Authorization"] = f"Bearer {created.json()['api_key']}"
        board = other.post("/api/v1/dashboards", json={"name": "Theirs"})
        assert board.status_code == 201, board.text
        assert other.get(f"/api/v1/dashboards/{board.json()['id']}/image.png").status_code == 200
    since = last_task_id(cluster)
    for path in ("image.png", "document.pdf"):
        refused = api.get(f"/api/v1/dashboards/{board.json()['id']}/{path}")
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["code"] == "not_found"
    # The access check ran where the view is built: on the worker, as the asking principal.
    tasks = render_tasks(cluster, since)
    assert [t.status for t in tasks] == ["failure", "failure"], tasks
    assert {t.result["error"]["code"] for t in tasks} == {"not_found"}


# ----- no renders worker -----------------------------------------------------------------------


def test_without_a_renders_worker_the_render_times_out_and_is_skipped_when_taken_late(
    cluster: Cluster, api: httpx.Client, dashboard: dict[str, Any]
) -> None:
    stop_renders_workers(cluster)
    renders = cluster.server.core.renders
    renders.timeout, before = 2.0, renders.timeout
    since = last_task_id(cluster)
    try:
        refused = api.get(f"/api/v1/dashboards/{dashboard['id']}/image.png")
    finally:
        renders.timeout = before
    assert refused.status_code == 504, refused.text
    error = refused.json()["error"]
    assert error["code"] == RenderTimeoutError.code
    assert RENDERS_QUEUE in error["message"]
    [task] = render_tasks(cluster, since)
    assert task.status == "pending" and task.worker is None  # still waiting in the queue
    # A worker that takes it after its caller gave up draws nothing and leaves no file.
    worker = renders_worker(cluster)
    late = wait_for(
        "the late render to end", lambda: (t := render_tasks(cluster, since)[0]).status == "failure" and t
    )
    assert late.worker == worker.name
    assert late.result["error"]["code"] == RenderTimeoutError.code
    assert render_files(cluster) == [], render_tasks(cluster)


# ----- drawing processes -----------------------------------------------------------------------


def children_of(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_the_drawing_processes_of_a_worker_killed_with_sigkill_exit_too(
    cluster: Cluster, api: httpx.Client, dashboard: dict[str, Any]
) -> None:
    worker = renders_worker(cluster)
    assert api.get(f"/api/v1/dashboards/{dashboard['id']}/image.png").status_code == 200
    # The converter runs in spawned child processes of the worker, not in its threads.
    drawing = wait_for("the worker's drawing processes", lambda: children_of(worker.process.pid))
    worker.kill()
    try:
        wait_for("the drawing processes to exit", lambda: not any(alive(pid) for pid in drawing), timeout=20)
    except AssertionError:
        raise AssertionError({pid: describe(pid) for pid in drawing}) from None


def describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text() + Path(f"/proc/{pid}/cmdline").read_text()
    except FileNotFoundError:
        return "gone"


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie nobody reaped yet has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"
