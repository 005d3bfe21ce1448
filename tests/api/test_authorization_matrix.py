"""The authorisation matrix through the native API (issue 7): for every shareable kind, a viewer it
is shared with READ_ONLY reads but cannot change it, an editor it is shared with MODIFY reads and
changes it, an unrelated editor of the organization and the admin of another organization do not
find it, and a query key reaches only its own query and results. An object nobody shared stays open
to the whole organization (and still closed to the other one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.authorization import Matrix, build_matrix
from tests.conftest import Org


@pytest.fixture
def matrix(server: LiveServer, new_org: Org, admin: httpx.Client) -> Iterator[Matrix]:
    yield from build_matrix(server, new_org, admin)


def made(response: httpx.Response) -> int:
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def new_query(m: Matrix) -> int:
    return made(m.org.admin.post("/api/v1/queries", json={"name": "matrix query", "sql": "SELECT 7 AS n"}))


@dataclass(frozen=True)
class Kind:
    """How A's admin makes one kind of object, where it lives, where it is listed, a change."""

    name: str
    make: Callable[[Matrix], int]
    path: str  # with {id}
    listing: str | None
    change: dict[str, Any]
    writers: int = 200  # the status an editor's change gets when it reaches the object


KINDS = [
    Kind("query", new_query, "/api/v1/queries/{id}", "/api/v1/queries", {"description": "changed"}),
    Kind(
        "visualization",
        lambda m: made(
            m.org.admin.post(
                "/api/v1/visualizations", json={"query_id": new_query(m), "type": "TABLE", "name": "chart"}
            )
        ),
        "/api/v1/visualizations/{id}",
        None,  # charts are listed per query
        {"name": "changed"},
    ),
    Kind(
        "dashboard",
        lambda m: made(m.org.admin.post("/api/v1/dashboards", json={"name": "matrix board"})),
        "/api/v1/dashboards/{id}",
        "/api/v1/dashboards",
        {"name": "changed"},
    ),
    Kind(
        "dataset",
        lambda m: made(
            m.org.admin.post(
                "/api/v1/datasets", json={"name": "matrix_ds", "columns": [{"name": "id", "type": "int64"}]}
            )
        ),
        "/api/v1/datasets/{id}",
        "/api/v1/datasets",
        {"description": "changed"},
    ),
    Kind(
        "data_source",
        lambda m: int(m.org.admin.get("/api/v1/data-sources").json()["items"][0]["id"]),
        "/api/v1/data-sources/{id}",
        "/api/v1/data-sources",
        {"name": "changed"},
        403,  # an editor's role may not manage sources, shared or not
    ),
]


def listed(client: httpx.Client, path: str) -> set[int]:
    answer = client.get(path, params={"per_page": 100})
    assert answer.status_code == 200, answer.text
    return {int(item["id"]) for item in answer.json()["items"]}


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def sees(client: httpx.Client, kind: Kind, object_id: int) -> bool:
    """Whether the object reads (200) and is listed; a refusal must be "not found" and unlisted."""
    path = kind.path.format(id=object_id)
    answer = client.get(path)
    in_listing = kind.listing is None or object_id in listed(client, kind.listing)
    if answer.status_code == 200:
        assert in_listing, f"{path} reads but is not listed"
        return True
    assert error_code(answer) == (404, "not_found"), answer.text
    assert kind.listing is None or not in_listing, f"{path} is hidden but listed"
    return False


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_a_shared_object_reaches_exactly_its_grantees(matrix: Matrix, kind: Kind) -> None:
    object_id = kind.make(matrix)
    path = kind.path.format(id=object_id)
    matrix.share(kind.name, object_id)
    assert sees(matrix.viewer.native, kind, object_id)
    assert error_code(matrix.viewer.native.patch(path, json=kind.change)) == (403, "permission_denied")
    assert sees(matrix.editor.native, kind, object_id)
    assert matrix.editor.native.patch(path, json=kind.change).status_code == kind.writers
    for hidden in (matrix.unrelated, matrix.outsider):
        assert not sees(hidden.native, kind, object_id)
        refused = hidden.native.patch(path, json=kind.change)
        assert refused.status_code == (404 if kind.writers == 200 or hidden is matrix.outsider else 403)
    assert sees(matrix.org.admin, kind, object_id)


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_an_unshared_object_is_open_to_its_organization_only(matrix: Matrix, kind: Kind) -> None:
    object_id = kind.make(matrix)
    path = kind.path.format(id=object_id)
    for member in (matrix.viewer, matrix.editor, matrix.unrelated):
        assert sees(member.native, kind, object_id)
    assert matrix.unrelated.native.patch(path, json=kind.change).status_code == kind.writers
    assert matrix.viewer.native.patch(path, json=kind.change).status_code == 403
    assert not sees(matrix.outsider.native, kind, object_id)
    assert matrix.outsider.native.patch(path, json=kind.change).status_code == 404


def run(client: httpx.Client, query_id: int) -> httpx.Response:
    return client.post(f"/api/v1/queries/{query_id}/run", json={"wait": 30})


def test_runs_and_results_follow_their_query(matrix: Matrix) -> None:
    query_id = new_query(matrix)
    matrix.share("query", query_id)
    ran = run(matrix.org.admin, query_id)
    assert ran.status_code == 200, ran.text
    result_id, job_id = ran.json()["result"]["id"], ran.json()["job"]["id"]
    for grantee in (matrix.viewer, matrix.editor):
        assert run(grantee.native, query_id).json()["result"]["rows"] == [{"n": 7}]
        assert grantee.native.get(f"/api/v1/results/{result_id}").status_code == 200
        assert grantee.native.get(f"/api/v1/jobs/{job_id}").status_code == 200
    for hidden in (matrix.unrelated, matrix.outsider):
        assert error_code(run(hidden.native, query_id)) == (404, "not_found")
        assert hidden.native.get(f"/api/v1/results/{result_id}").status_code == 404
        assert hidden.native.get(f"/api/v1/results/{result_id}/data").status_code == 404
        assert hidden.native.get(f"/api/v1/jobs/{job_id}").status_code == 404
        jobs = hidden.native.get("/api/v1/jobs", params={"per_page": 100})
        assert jobs.status_code == 200 and job_id not in {j["id"] for j in jobs.json()["items"]}


def test_a_query_key_reaches_only_its_own_query_and_results(matrix: Matrix, server: LiveServer) -> None:
    shared, own = new_query(matrix), new_query(matrix)
    matrix.share("query", shared)
    result_id = run(matrix.org.admin, shared).json()["result"]["id"]
    board = made(matrix.org.admin.post("/api/v1/dashboards", json={"name": "matrix board"}))
    key = matrix.query_key(own)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as k:
        assert k.get(f"/api/v1/queries/{own}").status_code == 200
        mine = run(k, own)
        assert mine.status_code == 200 and mine.json()["result"]["rows"] == [{"n": 7}]
        assert k.get(f"/api/v1/results/{mine.json()['result']['id']}/data").status_code == 200
        assert listed(k, "/api/v1/queries") == {own}
        for refused in (
            k.get(f"/api/v1/queries/{shared}"),
            run(k, shared),
            k.get(f"/api/v1/results/{result_id}"),
            k.patch(f"/api/v1/queries/{own}", json={"description": "changed"}),
            k.get(f"/api/v1/dashboards/{board}"),
            k.post("/api/v1/runs", json={"sql": "SELECT 1"}),
            k.get("/api/v1/inputs"),  # the pipeline is no query's
            k.get("/api/v1/pipeline/samples"),
            k.get("/api/v1/scripts"),
        ):
            assert refused.status_code in (403, 404), refused.text
