"""The authorisation matrix through the ThoughtSpot dialect (issue 7), with the real client
(`thoughtspot_rest_api_v1` TSRestApiV1/V2): metadata list and details, searchdata, pinboarddata,
liveboard and answer data, PDF export, and sharing (ThoughtSpot's only change of an object).

A's admin shares an object READ_ONLY with a viewer V and MODIFY with an editor E: both read it, V's
`security/share` answers 403 and E's succeeds; an unrelated editor U and the admin X of another
organization get 404 and never find it in `listobjectheaders`. Unshared objects stay open to A."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
from thoughtspot_rest_api_v1 import TSRestApiV1, TSRestApiV2

from openlytics.testing import LiveServer
from tests.authorization import PASSWORD, Matrix, Party, build_matrix
from tests.conftest import Org
from tests.dialects.thoughtspot.conftest import ThoughtSpot, status_of
from tests.dialects.thoughtspot.test_data import make_dataset, make_liveboard


@pytest.fixture
def matrix(server: LiveServer, new_org: Org, admin: httpx.Client) -> Iterator[Matrix]:
    yield from build_matrix(server, new_org, admin)


def v1(ts: ThoughtSpot, party: Party) -> TSRestApiV1:
    client = TSRestApiV1(server_url=ts.url)
    client.session_login(username=party.email, password=PASSWORD)
    return client


def v2(ts: ThoughtSpot, party: Party) -> TSRestApiV2:
    client = TSRestApiV2(server_url=ts.url)
    client.bearer_token = TSRestApiV2(server_url=ts.url).auth_token_full(
        username=party.email, password=PASSWORD, validity_time_in_sec=300
    )["token"]
    return client


@dataclass
class Made:
    """A's objects: core kind and id, ThoughtSpot type and GUID."""

    kind: str
    object_id: int
    type: str
    guid: str


def make(ts: ThoughtSpot, kind: str) -> Made:
    """An object of `kind`, made by A's admin through the native API."""
    native = ts.org.admin
    if kind == "dashboard":
        guid, *_ = make_liveboard(native)
        return Made(
            kind, int(native.get(f"/api/v1/dashboards/{guid}").json()["id"]), "PINBOARD_ANSWER_BOOK", guid
        )
    if kind == "query":
        query = native.post("/api/v1/queries", json={"name": "Answer", "sql": "SELECT 7 AS n"}).json()
        return Made(kind, query["id"], "QUESTION_ANSWER_BOOK", query["uuid"])
    if kind == "dataset":
        dataset_id, guid = make_dataset(native)
        return Made(kind, dataset_id, "LOGICAL_TABLE", guid)
    source = native.get("/api/v1/data-sources").json()["items"][0]
    return Made(kind, source["id"], "DATA_SOURCE", source["uuid"])


KINDS = ["dashboard", "query", "dataset", "data_source"]
V2_TYPES = {
    "dashboard": "LIVEBOARD",
    "query": "ANSWER",
    "dataset": "LOGICAL_TABLE",
    "data_source": "CONNECTION",
}


def sees(client: TSRestApiV1, made: Made) -> bool:
    """Whether `metadata/details` answers the object; listings agree, and hiding it answers 404."""
    listed = made.guid in [h["id"] for h in client.metadata_listobjectheaders(made.type)]
    try:
        details = client.metadata_details(made.type, [made.guid])
    except requests.HTTPError as exc:
        assert exc.response is not None and exc.response.status_code == 404
        assert not listed
        return False
    assert details["storables"][0]["header"]["id"] == made.guid and listed
    return True


def pdf(client: TSRestApiV1, guid: str) -> bytes:
    """The liveboard's PDF; the client hands back any answer's body, so a refusal is raised here."""
    document = client.export_pinboard_pdf(guid)
    if not document.startswith(b"%PDF"):
        error = json.loads(document)["error"]
        assert error["code"] == "not_found", error
        response = requests.Response()
        response.status_code = 404
        raise requests.HTTPError(error["message"], response=response)
    return document


def reads_data(ts: ThoughtSpot, party: Party, made: Made) -> int:
    """The status of reading the object's data through V1 and V2 (they must agree)."""
    one, two = v1(ts, party), v2(ts, party)
    if made.kind == "dashboard":
        calls = [
            lambda: one.pinboarddata(made.guid, None),
            lambda: pdf(one, made.guid),
            lambda: two.metadata_liveboard_data({"metadata_identifier": made.guid}),
        ]
    elif made.kind == "query":
        calls = [lambda: two.metadata_answer_data({"metadata_identifier": made.guid})]
    elif made.kind == "dataset":
        calls = [
            lambda: one.searchdata("[Region] [Sales]", made.guid),
            lambda: two.searchdata({"query_string": "[Region]", "logical_table_identifier": made.guid}),
        ]
    else:
        return 200  # a data source has no data of its own here
    statuses = []
    for call in calls:
        try:
            call()
            statuses.append(200)
        except requests.HTTPError as exc:
            assert exc.response is not None
            statuses.append(exc.response.status_code)
    assert len(set(statuses)) == 1, (party.email, statuses)
    return statuses[0]


def shares(client: TSRestApiV1, made: Made, grantee: str) -> bool:
    """`security/share` of the object READ_ONLY with `grantee` (a change: it needs MODIFY)."""
    return client.security_share(
        made.type, [made.guid], {"permissions": {grantee: {"shareMode": "READ_ONLY"}}}
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_shared_object_reaches_exactly_its_grantees(ts: ThoughtSpot, matrix: Matrix, kind: str) -> None:
    made = make(ts, kind)
    matrix.share(kind, made.object_id)
    admin_guid = ts.guids["admin"]
    for grantee in (matrix.viewer, matrix.editor):
        assert sees(v1(ts, grantee), made) and reads_data(ts, grantee, made) == 200
    assert status_of(lambda: shares(v1(ts, matrix.viewer), made, admin_guid)) == 403
    if kind == "data_source":  # an editor may not manage sources: MODIFY needs the role too
        assert status_of(lambda: shares(v1(ts, matrix.editor), made, admin_guid)) == 403
    else:
        assert shares(v1(ts, matrix.editor), made, admin_guid) is True
    for hidden in (matrix.unrelated, matrix.outsider):
        assert not sees(v1(ts, hidden), made)
        if kind != "data_source":
            assert reads_data(ts, hidden, made) == 404
        assert status_of(lambda: shares(v1(ts, hidden), made, admin_guid)) == 404
    access = v1(ts, matrix.unrelated).security_effectivepermissionbulk({made.type: [made.guid]})
    assert access == {made.type: {made.guid: {"shareMode": "NO_ACCESS"}}}


@pytest.mark.parametrize("kind", KINDS)
def test_an_unshared_object_is_open_to_its_organization_only(
    ts: ThoughtSpot, matrix: Matrix, kind: str
) -> None:
    made = make(ts, kind)
    for member in (matrix.viewer, matrix.editor, matrix.unrelated):
        assert sees(v1(ts, member), made) and reads_data(ts, member, made) == 200
    assert not sees(v1(ts, matrix.outsider), made)
    assert status_of(lambda: shares(v1(ts, matrix.outsider), made, ts.guids["admin"])) == 404
    if kind != "data_source":
        assert reads_data(ts, matrix.outsider, made) == 404
    found = v2(ts, matrix.outsider).metadata_search({"metadata": [{"type": V2_TYPES[kind]}]})
    assert made.guid not in [m["metadata_id"] for m in found]


def test_a_liveboard_leaves_out_the_answers_a_grantee_does_not_reach(ts: ThoughtSpot, matrix: Matrix) -> None:
    made = make(ts, "dashboard")
    matrix.share("dashboard", made.object_id)
    vizzes = v1(ts, matrix.editor).pinboarddata(made.guid, None)
    assert len(vizzes) == 2
    # The first answer on the board is shared with E alone: V no longer gets its data.
    board = ts.org.admin.get(f"/api/v1/dashboards/{made.object_id}").json()
    first_query = board["widgets"][0]["query"]["id"]
    grants = [{"principal": "user", "id": matrix.editor.user_id, "mode": "READ_ONLY"}]
    assert ts.org.admin.put(f"/api/v1/shares/query/{first_query}", json={"grants": grants}).status_code == 200
    assert set(v1(ts, matrix.editor).pinboarddata(made.guid, None)) == set(vizzes)
    left = v1(ts, matrix.viewer).pinboarddata(made.guid, None)
    assert len(left) == 1 and set(left) < set(vizzes)


def test_a_query_key_reaches_no_other_object(ts: ThoughtSpot, matrix: Matrix) -> None:
    board, shared, own = make(ts, "dashboard"), make(ts, "query"), make(ts, "query")
    matrix.share("query", shared.object_id)
    k = TSRestApiV2(server_url=ts.url)
    k.bearer_token = matrix.query_key(own.object_id)
    for call in (
        lambda: k.metadata_liveboard_data({"metadata_identifier": board.guid}),
        lambda: k.metadata_answer_data({"metadata_identifier": shared.guid}),
        lambda: pdf_v2(k, board.guid),
    ):
        assert status_of(call) in (401, 403, 404)
    try:
        found = k.metadata_search({"metadata": [{"type": "LIVEBOARD"}]})
    except requests.HTTPError as exc:
        assert exc.response is not None and exc.response.status_code in (401, 403)
    else:
        assert found == []


def pdf_v2(client: TSRestApiV2, guid: str) -> Any:
    return client.report_liveboard({"metadata_identifier": guid, "file_format": "PDF"})
