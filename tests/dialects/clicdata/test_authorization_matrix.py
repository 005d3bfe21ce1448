"""The authorisation matrix through the ClicData dialect (issue 7), with the wrapper-like client:
data sets (read, list, history, append, delete rows, rebuild) and dashboards (list, thumbnail,
snapshot; ClicData's API cannot change a dashboard).

A's admin shares an object READ_ONLY with a viewer V and MODIFY with an editor E: both read it, V's
row writes answer 403 and E's succeed; an unrelated editor U and the admin X of another organization
get 404 in ClicData's envelope and never find it listed. Unshared objects stay open to A."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from openlytics.testing import LiveServer
from tests.authorization import Matrix, Party, build_matrix
from tests.conftest import Org
from tests.dialects.clicdata import wrapper_client as wc
from tests.dialects.clicdata.conftest import ClicData, new_oauth_client, png_size
from tests.dialects.clicdata.test_account_dashboards_schedules import make_dashboard


@pytest.fixture
def matrix(server: LiveServer, new_org: Org, admin: httpx.Client) -> Iterator[Matrix]:
    yield from build_matrix(server, new_org, admin)


def session(cd: ClicData, party: Party) -> wc.Session:
    """A wrapper session of the party (client credentials of an OAuth client it made)."""
    client_id, secret = new_oauth_client(party.native)
    return wc.Session(client_id=client_id, client_secret=secret, url=cd.url)


def new_dataset(cd: ClicData) -> int:
    """A data set of A's admin with one row."""
    cd.manager("admin")
    rec_id = int(wc.Data().create_data(name="Matrix", cols={"id": "number"}).text)
    appended = cd.call("post", f"data/{rec_id}/row", json={"data": [[{"column": "id", "value": 1}]]})
    assert appended.status_code == 200, appended.text
    return rec_id


def refused(response: requests.Response, status: int) -> None:
    """The call answered `status` in ClicData's envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == {403: "permission_denied", 404: "not_found"}[status]


def dataset_reads(s: wc.Session, rec_id: int) -> list[requests.Response]:
    return [
        s.api_call(f"data/{rec_id}", "get"),
        s.api_call(f"data/{rec_id}/versions", "get"),
    ]


def dataset_writes(s: wc.Session, rec_id: int) -> list[requests.Response]:
    row = [[{"column": "id", "value": 2}]]
    return [
        s.api_call(f"data/{rec_id}/row", "post", body={"data": row}),
        s.api_call(f"data/{rec_id}/row", "delete", params={"find": '[{"column": "id", "value": 2}]'}),
    ]


def sees_dataset(s: wc.Session, rec_id: int) -> bool:
    """Whether the data set reads (and is listed); otherwise every read is a 404 and it is unlisted."""
    listed = rec_id in {d["rec_id"] for d in s.api_call("data", "get").json()["data"]}
    answers = dataset_reads(s, rec_id)
    if answers[0].status_code == 200:
        assert listed and all(a.status_code == 200 for a in answers)
        return True
    for answer in answers:
        refused(answer, 404)
    assert not listed
    return False


def sees_dashboard(s: wc.Session, rec_id: int) -> bool:
    """Whether the dashboard is listed and draws; otherwise its images are 404 and it is unlisted."""
    listed = rec_id in {d["rec_id"] for d in s.api_call("dashboard", "get").json()["dashboards"]}
    images = [
        s.api_call(f"dashboard/{rec_id}/{image}", "get", params={"format": "image"})
        for image in ("thumbnail", "snapshot")
    ]
    if images[0].status_code == 200:
        assert listed and all(png_size(i.content) for i in images)
        return True
    for image in images:
        refused(image, 404)
    assert not listed
    return False


def test_a_shared_data_set_reaches_exactly_its_grantees(cd: ClicData, matrix: Matrix) -> None:
    rec_id = new_dataset(cd)
    matrix.share("dataset", rec_id)
    viewer, editor = session(cd, matrix.viewer), session(cd, matrix.editor)
    assert sees_dataset(viewer, rec_id) and sees_dataset(editor, rec_id)
    for answer in dataset_writes(viewer, rec_id):
        refused(answer, 403)
    for answer in dataset_writes(editor, rec_id):
        assert answer.status_code == 200, answer.text
    assert editor.api_call(f"data/{rec_id}/reload", "post").status_code != 403
    for hidden in (matrix.unrelated, matrix.outsider):
        s = session(cd, hidden)
        assert not sees_dataset(s, rec_id)
        for answer in [*dataset_writes(s, rec_id), s.api_call(f"data/{rec_id}/reload", "post")]:
            refused(answer, 404)
    rows: list[dict[str, Any]] = cd.org.admin.get(f"/api/v1/datasets/{rec_id}/data").json()["rows"]
    assert [row["id"] for row in rows] == [1]  # nothing the refused callers sent was kept


def test_an_unshared_data_set_is_open_to_its_organization_only(cd: ClicData, matrix: Matrix) -> None:
    rec_id = new_dataset(cd)
    for member in (matrix.viewer, matrix.editor, matrix.unrelated):
        assert sees_dataset(session(cd, member), rec_id)
    for answer in dataset_writes(session(cd, matrix.viewer), rec_id):
        refused(answer, 403)
    for answer in dataset_writes(session(cd, matrix.unrelated), rec_id):
        assert answer.status_code == 200, answer.text
    outsider = session(cd, matrix.outsider)
    assert not sees_dataset(outsider, rec_id)
    for answer in dataset_writes(outsider, rec_id):
        refused(answer, 404)


def test_a_shared_dashboard_reaches_exactly_its_grantees(cd: ClicData, matrix: Matrix) -> None:
    board = make_dashboard(cd, "Matrix")["id"]
    open_board = make_dashboard(cd, "Open")["id"]
    matrix.share("dashboard", board)
    for grantee in (matrix.viewer, matrix.editor):
        s = session(cd, grantee)
        assert sees_dashboard(s, board) and sees_dashboard(s, open_board)
    unrelated = session(cd, matrix.unrelated)
    assert not sees_dashboard(unrelated, board)
    assert sees_dashboard(unrelated, open_board)  # nobody shared it: open to the organization
    outsider = session(cd, matrix.outsider)
    assert not sees_dashboard(outsider, board) and not sees_dashboard(outsider, open_board)


def test_a_query_key_reaches_no_data_set_or_dashboard(cd: ClicData, matrix: Matrix) -> None:
    rec_id = new_dataset(cd)
    query = cd.org.admin.post("/api/v1/queries", json={"name": "K", "sql": "SELECT 1"}).json()
    key = matrix.query_key(query["id"])
    headers = {"Authorization": f"Bearer {key}"}
    for suffix in ("data", f"data/{rec_id}", "dashboard"):
        answer = requests.get(cd.url + suffix, headers=headers, timeout=60)
        assert answer.status_code in (401, 403), answer.text
        assert answer.json()["success"] is False
