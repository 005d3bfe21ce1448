"""The authorisation matrix through the TONalytica dialect (issue 7), with tonalytica-client and
redash-toolbelt: queries, visualizations, dashboards, query results and query API keys.

A's admin shares an object READ_ONLY with a viewer V and MODIFY with an editor E: V reads it and its
changes answer 403, E reads and changes it, an unrelated editor U and the admin X of another
organization get 404 and never find it listed; a query's API key K reaches only its query. Unshared
objects stay open to the organization (docs/governance.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
from redash_toolbelt import Redash

from openlytics.testing import LiveServer
from tests.authorization import Matrix, Party, build_matrix
from tests.conftest import Org
from tests.dialects.tonalytica.conftest import Tonalytica, unique


@pytest.fixture
def matrix(server: LiveServer, new_org: Org, admin: httpx.Client, ton: Tonalytica) -> Iterator[Matrix]:
    yield from build_matrix(server, new_org, admin)


def code_of(exc: Exception) -> int:
    """The HTTP status a vendor client raised with."""
    if isinstance(exc, requests.HTTPError):  # redash-toolbelt
        assert exc.response is not None
        return exc.response.status_code
    found = re.search(r"\((\d{3})\)$", str(exc))  # tonalytica-client: "[GET] /api/... (404)"
    assert found, exc
    return int(found.group(1))


def status(call: Callable[[], Any]) -> int:
    """200 when the vendor client's call succeeds, else the HTTP status it raised with."""
    try:
        call()
    except Exception as exc:
        return code_of(exc)
    return 200


def or_hidden(call: Callable[[], bool]) -> bool:
    """The call's answer; False when it raised "not found" (any other failure fails the test)."""
    try:
        return call()
    except Exception as exc:
        assert code_of(exc) == 404, exc
        return False


def new_query(ton: Tonalytica, sql: str = "SELECT region FROM sales ORDER BY id") -> dict[str, Any]:
    query: dict[str, Any] = ton.admin.create_query(ton.warehouse_id, unique("matrix"), sql).json()
    return query


def new_chart(ton: Tonalytica) -> int:
    query = new_query(ton)
    chart = ton.admin.create_visualization(
        query["id"], "table", "chart", columns=[{"name": "region", "type": "string"}]
    )
    return int(chart.json()["id"])


def chart_query(ton: Tonalytica, chart_id: int) -> int:
    native = ton.org.admin.get(f"/api/v1/visualizations/{chart_id}")
    return int(native.json()["query_id"])


def charts_of(client: Any, query_id: int) -> set[int]:
    return {v["id"] for v in client.get_query(query_id)["visualizations"]}


@dataclass(frozen=True)
class Kind:
    """One kind through the vendor client: make (as A's admin), read, list, change."""

    name: str
    make: Callable[[Tonalytica], int]
    reads: Callable[[Tonalytica, Any, int], bool]
    listed: Callable[[Tonalytica, Any, int], bool]
    change: Callable[[Any, int], Any]


KINDS = [
    Kind(
        "query",
        lambda ton: int(new_query(ton)["id"]),
        lambda ton, client, i: client.get_query(i)["id"] == i,
        lambda ton, client, i: i in {q["id"] for q in client.queries(page_size=250)["results"]},
        lambda client, i: client.update_query(i, {"name": "changed"}),
    ),
    Kind(
        "visualization",  # read through its query, which nobody shared
        new_chart,
        lambda ton, client, i: i in charts_of(client, chart_query(ton, i)),
        lambda ton, client, i: i in charts_of(client, chart_query(ton, i)),  # no list of all charts
        lambda client, i: client.update_visualization(i, {"name": "changed"}),
    ),
    Kind(
        "dashboard",
        lambda ton: int(ton.admin.create_dashboard(unique("board")).json()["id"]),
        lambda ton, client, i: client.get_dashboard(i)["id"] == i,
        lambda ton, client, i: i in {d["id"] for d in client.dashboards(page_size=250)["results"]},
        lambda client, i: client.update_dashboard(i, {"name": "changed"}),
    ),
]


def sees(ton: Tonalytica, party: Party, kind: Kind, object_id: int) -> bool:
    """Whether the party reads the object; listings agree, and hiding it answers 404."""
    client = ton.client_for(party.key)
    found = or_hidden(lambda: kind.reads(ton, client, object_id))
    assert or_hidden(lambda: kind.listed(ton, client, object_id)) == found
    return found


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_a_shared_object_reaches_exactly_its_grantees(ton: Tonalytica, matrix: Matrix, kind: Kind) -> None:
    object_id = kind.make(ton)
    matrix.share(kind.name, object_id)
    assert sees(ton, matrix.viewer, kind, object_id)
    assert status(lambda: kind.change(ton.client_for(matrix.viewer.key), object_id)) == 403
    assert sees(ton, matrix.editor, kind, object_id)
    assert status(lambda: kind.change(ton.client_for(matrix.editor.key), object_id)) == 200
    assert not sees(ton, matrix.unrelated, kind, object_id)
    assert status(lambda: kind.change(ton.client_for(matrix.unrelated.key), object_id)) == 404
    assert not sees(ton, matrix.outsider, kind, object_id)
    assert status(lambda: kind.change(ton.client_for(matrix.outsider.key), object_id)) == 404


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_an_unshared_object_is_open_to_its_organization_only(
    ton: Tonalytica, matrix: Matrix, kind: Kind
) -> None:
    object_id = kind.make(ton)
    for member in (matrix.viewer, matrix.editor, matrix.unrelated):
        assert sees(ton, member, kind, object_id)
    assert status(lambda: kind.change(ton.client_for(matrix.viewer.key), object_id)) == 403
    assert status(lambda: kind.change(ton.client_for(matrix.unrelated.key), object_id)) == 200
    outsider = ton.client_for(matrix.outsider.key)
    assert status(lambda: kind.change(outsider, object_id)) == 404
    assert all(q["id"] != object_id for q in outsider.queries(page_size=250)["results"])
    assert all(d["id"] != object_id for d in outsider.dashboards(page_size=250)["results"])


def test_a_dashboard_shows_each_party_only_the_charts_it_reaches(ton: Tonalytica, matrix: Matrix) -> None:
    board = int(ton.admin.create_dashboard(unique("board")).json()["id"])
    restricted = new_chart(ton)
    ton.admin.add_widget(board, vs_id=restricted)
    ton.admin.add_widget(board, text="hello")
    matrix.share("dashboard", board)
    grants = [{"principal": "user", "id": matrix.editor.user_id, "mode": "READ_ONLY"}]
    query_id = chart_query(ton, restricted)
    assert ton.org.admin.put(f"/api/v1/shares/query/{query_id}", json={"grants": grants}).status_code == 200

    def widgets(party: Party) -> list[Any]:
        return [
            w.get("visualization", {}).get("id")
            for w in Redash(ton.base, party.key).get_dashboard(board)["widgets"]
        ]

    assert widgets(matrix.editor) == [restricted, None]
    assert widgets(matrix.viewer) == [None]  # the chart of a query V does not reach is left out
    with pytest.raises(requests.HTTPError, match="404"):
        Redash(ton.base, matrix.unrelated.key).get_dashboard(board)
    with pytest.raises(requests.HTTPError, match="404"):
        Redash(ton.base, matrix.outsider.key).get_dashboard(board)


def test_query_results_follow_their_query(ton: Tonalytica, matrix: Matrix) -> None:
    query = new_query(ton)
    matrix.share("query", query["id"])
    job = ton.http.post(f"/api/queries/{query['id']}/results", json={"max_age": 0}).json()["job"]
    result_id = job["query_result_id"]
    paths = [
        f"/api/query_results/{result_id}",
        f"/api/queries/{query['id']}/results/{result_id}.json",
        f"/api/query_results/{result_id}.csv",
        f"/api/jobs/{job['id']}",
    ]
    for party, expected in (
        (matrix.viewer, 200),
        (matrix.editor, 200),
        (matrix.unrelated, 404),
        (matrix.outsider, 404),
    ):
        with ton.raw(party.key) as raw:
            ran = raw.post(f"/api/queries/{query['id']}/results", json={"max_age": 0})
            assert ran.status_code == expected, ran.text
            for path in paths:
                assert raw.get(path).status_code == expected, path
            if party is matrix.viewer:
                denied = raw.post(f"/api/queries/{query['id']}", json={"name": "changed"})
                assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
            if expected == 404:
                assert ran.json()["message"]  # the Redash error shape
                assert status(lambda: ton.client_for(party.key).refresh_query(query["id"])) == 404


def test_a_query_api_key_reaches_only_its_own_query(ton: Tonalytica, matrix: Matrix) -> None:
    shared, own = new_query(ton), new_query(ton, "SELECT 7 AS n")
    matrix.share("query", shared["id"])
    shared_run = ton.http.post(f"/api/queries/{shared['id']}/results", json={"max_age": 0}).json()["job"]
    key = own["api_key"]
    assert key
    with ton.raw(key) as k:
        ran = k.post(f"/api/queries/{own['id']}/results", json={"max_age": 0})
        assert ran.status_code == 200, ran.text
        result = k.get(f"/api/query_results/{ran.json()['job']['query_result_id']}")
        assert result.json()["query_result"]["data"]["rows"] == [{"n": 7}]
        for refused in (
            k.get(f"/api/queries/{shared['id']}"),
            k.post(f"/api/queries/{shared['id']}/results", json={"max_age": 0}),
            k.get(f"/api/query_results/{shared_run['query_result_id']}"),
            k.post(f"/api/queries/{own['id']}", json={"name": "hijack"}),
            k.get("/api/dashboards"),
        ):
            assert refused.status_code in (403, 404), refused.text
    # The key of a query shared away from U is no key of U's: U still does not reach it.
    assert status(lambda: ton.client_for(matrix.unrelated.key).get_query(shared["id"])) == 404
