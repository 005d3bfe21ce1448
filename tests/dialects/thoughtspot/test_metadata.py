"""V1 metadata (`metadata/listobjectheaders`, `metadata/list`, `metadata/details`) and V2
`metadata/search`, through the real client on objects made with the native API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from thoughtspot_rest_api_v1 import TSRestApiV1
from thoughtspot_rest_api_v1.details_objects import GroupDetails, UserDetails

from tests.dialects.thoughtspot.conftest import ThoughtSpot, status_of

MISSING = "6b1f1c71-5cba-4a4b-9ae6-8bbd3c1d1c1d"


@dataclass
class Objects:
    """GUIDs of what `make_objects` created."""

    query: str
    query_id: int
    viz: str
    board: str
    board_id: int
    dataset: str
    source: str


def make_objects(native: httpx.Client, suffix: str = "") -> Objects:
    """A query (tagged, with its default visualization), a liveboard showing it, a dataset."""
    query = native.post(
        "/api/v1/queries", json={"name": f"Revenue{suffix}", "sql": "SELECT 1 AS n", "tags": ["finance"]}
    ).json()
    viz = native.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
    board = native.post("/api/v1/dashboards", json={"name": f"Board{suffix}", "tags": ["exec"]}).json()
    added = native.post(f"/api/v1/dashboards/{board['id']}/widgets", json={"visualization_id": viz["id"]})
    assert added.status_code == 201, added.text
    dataset = native.post(
        "/api/v1/datasets",
        json={
            "name": f"orders{suffix}",
            "columns": [{"name": "id", "type": "int"}, {"name": "amount", "type": "float"}],
        },
    ).json()
    source = native.get("/api/v1/data-sources").json()["items"][0]
    return Objects(
        query["uuid"], query["id"], viz["uuid"], board["uuid"], board["id"], dataset["uuid"], source["uuid"]
    )


def names(headers: list[dict[str, Any]]) -> list[str]:
    return [h["name"] for h in headers]


def test_listobjectheaders_for_each_type(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    v1 = ts.v1("viewer")
    boards = v1.metadata_listobjectheaders("PINBOARD_ANSWER_BOOK")
    assert [(h["id"], h["type"]) for h in boards] == [(made.board, "PINBOARD_ANSWER_BOOK")]
    assert boards[0]["author"] == ts.guids["editor"] and boards[0]["authorName"] == ts.emails["editor"]
    assert boards[0]["tags"][0]["name"] == "exec"
    answers = v1.metadata_listobjectheaders("QUESTION_ANSWER_BOOK")
    assert [h["id"] for h in answers] == [made.query]
    tables = v1.metadata_listobjectheaders("LOGICAL_TABLE")
    assert [(h["id"], h["subtype"]) for h in tables] == [(made.dataset, "ONE_TO_ONE_LOGICAL")]
    # A subtype as `type`: the client turns it into LOGICAL_TABLE + subtypes.
    assert [h["id"] for h in v1.metadata_listobjectheaders("ONE_TO_ONE_LOGICAL")] == [made.dataset]
    assert v1.metadata_listobjectheaders("AGGR_WORKSHEET") == []
    assert made.source in [h["id"] for h in v1.metadata_listobjectheaders("DATA_SOURCE")]
    assert sorted(names(v1.metadata_listobjectheaders("USER"))) == sorted(ts.emails.values())
    assert sorted(names(v1.metadata_listobjectheaders("TAG"))) == ["exec", "finance"]
    assert sorted(names(v1.metadata_listobjectheaders("LOGICAL_COLUMN"))) == ["amount", "id"]
    ts.v1("admin").group_post("readers", "Readers", None)
    assert names(v1.metadata_listobjectheaders("USER_GROUP")) == ["readers"]
    assert status_of(lambda: v1.metadata_listobjectheaders("NOT_A_TYPE")) == 400


def test_list_sorts_filters_and_pages(ts: ThoughtSpot) -> None:
    for name in ("beta", "Alpha", "gamma"):
        ts.org.editor.post("/api/v1/queries", json={"name": name, "sql": "SELECT 1"})
    mine = ts.org.admin.post("/api/v1/queries", json={"name": "zeta", "sql": "SELECT 1"})
    v1 = ts.v1("editor")
    listed = v1.metadata_list("QUESTION_ANSWER_BOOK", sort="NAME")
    assert names(listed["headers"]) == ["Alpha", "beta", "gamma", "zeta"]
    assert listed["isLastBatch"] is True and listed["debugInfo"] == {}
    by_name_desc = v1.metadata_list("QUESTION_ANSWER_BOOK", sort="NAME", sort_ascending=False)
    assert names(by_name_desc["headers"]) == ["zeta", "gamma", "beta", "Alpha"]
    page = v1.metadata_list("QUESTION_ANSWER_BOOK", sort="NAME", batchsize=2, offset=1)
    assert names(page["headers"]) == ["beta", "gamma"] and page["isLastBatch"] is False
    assert names(v1.metadata_list("QUESTION_ANSWER_BOOK", sort="NAME", filter="ET")["headers"]) == [
        "beta",
        "zeta",
    ]
    assert names(v1.metadata_list("QUESTION_ANSWER_BOOK", filter="g%a")["headers"]) == ["gamma"]
    assert names(v1.metadata_list("QUESTION_ANSWER_BOOK", sort="NAME", category="MY")["headers"]) == [
        "Alpha",
        "beta",
        "gamma",
    ]
    admin_own = ts.v1("admin").metadata_listobjectheaders("QUESTION_ANSWER_BOOK", category="MY")
    assert [h["id"] for h in admin_own] == [mine.json()["uuid"]]
    everything = v1.metadata_listobjectheaders("QUESTION_ANSWER_BOOK", sort="NAME")
    alpha, beta = everything[0]["id"], everything[1]["id"]
    fetched = v1.metadata_listobjectheaders("QUESTION_ANSWER_BOOK", sort="NAME", fetchids=[beta, alpha])
    assert names(fetched) == ["Alpha", "beta"]
    skipped = v1.metadata_listobjectheaders("QUESTION_ANSWER_BOOK", sort="NAME", skipids=[alpha])
    assert names(skipped) == ["beta", "gamma", "zeta"]
    created = v1.metadata_listobjectheaders("QUESTION_ANSWER_BOOK", sort="CREATED", sort_ascending=False)
    assert names(created)[0] == "zeta"
    bad = v1.requests_session.get(
        f"{ts.url}/callosum/v1/tspublic/v1/metadata/list", params={"type": "USER", "fetchids": "[not json"}
    )
    assert bad.status_code == 400 and "fetchids" in bad.text
    # The client's exact-name lookup rides on the name filter.
    assert v1.metadata_list_find_guid("QUESTION_ANSWER_BOOK", "beta") == beta
    with pytest.raises(LookupError):
        v1.metadata_list_find_guid("QUESTION_ANSWER_BOOK", "bet")


def test_favorites_and_tags_filter_lists(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    other = make_objects(ts.org.editor, " 2")
    assert ts.org.viewer.post(f"/api/v1/dashboards/{made.board_id}/favorite").status_code == 204
    v1 = ts.v1("viewer")
    favorites = v1.metadata_list("PINBOARD_ANSWER_BOOK", category="FAVORITE")["headers"]
    assert [h["id"] for h in favorites] == [made.board]
    assert ts.v1("editor").metadata_list("PINBOARD_ANSWER_BOOK", category="FAVORITE")["headers"] == []
    tagged = v1.metadata_listobjectheaders("PINBOARD_ANSWER_BOOK", sort="NAME", tagname=["exec"])
    assert [h["id"] for h in tagged] == [made.board, other.board]
    assert v1.metadata_listobjectheaders("QUESTION_ANSWER_BOOK", tagname=["exec"]) == []


def test_details_of_each_type(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    ran = ts.org.editor.post(f"/api/v1/queries/{made.query_id}/run", json={})
    assert ran.status_code in (200, 202), ran.text
    v1 = ts.v1("viewer")
    board = v1.metadata_details("PINBOARD_ANSWER_BOOK", [made.board])["storables"][0]
    assert board["header"]["id"] == made.board and board["type"] == "PINBOARD_ANSWER_BOOK"
    resolved = board["header"]["resolvedObjects"][made.query]
    shown = resolved["reportContent"]["sheets"][0]["sheetContent"]["visualizations"]
    assert [v["header"]["id"] for v in shown] == [made.viz]
    assert isinstance(shown[0]["vizContent"]["columns"], list)
    sheets = board["reportContent"]["sheets"][0]["sheetContent"]["visualizations"]
    assert sheets[0]["vizContent"]["refAnswerBook"]["id"] == made.query

    answer = v1.metadata_details("QUESTION_ANSWER_BOOK", [made.query])
    sheet = TSRestApiV1.get_sheets_from_metadata_details(answer)[0]
    assert [v["header"]["id"] for v in sheet["sheetContent"]["visualizations"]] == [made.viz]
    assert answer["storables"][0]["sqlQuery"] == "SELECT 1 AS n"

    table = v1.metadata_details("ONE_TO_ONE_LOGICAL", [made.dataset])["storables"][0]
    assert [c["header"]["name"] for c in table["columns"]] == ["id", "amount"]

    source = v1.metadata_details("DATA_SOURCE", [made.source])
    assert "configuration" in source["storables"][0]["dataSourceContent"]
    assert "password" not in str(source).lower()

    user = v1.metadata_details("USER", [ts.guids["viewer"]])["storables"][0]
    assert UserDetails(user).username() == ts.emails["viewer"]
    group = ts.v1("admin").group_post("readers", "Readers", ["DATADOWNLOADING"])["header"]["id"]
    assert GroupDetails(v1.metadata_details("USER_GROUP", [group])["storables"][0]).privileges() == [
        "DATADOWNLOADING"
    ]
    two = v1.metadata_details("QUESTION_ANSWER_BOOK", [made.query, made.query])["storables"]
    assert len(two) == 2
    assert status_of(lambda: v1.metadata_details("PINBOARD_ANSWER_BOOK", [MISSING])) == 404
    bad = v1.requests_session.get(
        f"{ts.url}/callosum/v1/tspublic/v1/metadata/details", params={"type": "USER", "id": "[oops"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "id"


def test_data_source_details_never_show_a_password(ts: ThoughtSpot) -> None:
    created = ts.org.admin.post(
        "/api/v1/data-sources",
        json={"name": "pg", "url": "postgresql://scott:tiger-secret@127.0.0.1:5432/test"},
    )
    assert created.status_code == 201, created.text
    details = ts.v1("admin").metadata_details("DATA_SOURCE", [created.json()["uuid"]])
    assert "tiger-secret" not in str(details)
    assert TSRestApiV1.get_connection_name_from_metadata_details(details) == "pg"


def test_other_organizations_objects_are_unknown(ts: ThoughtSpot, other_org: Any) -> None:
    theirs = make_objects(other_org.native)
    v1 = ts.v1("admin")
    assert theirs.board not in [h["id"] for h in v1.metadata_listobjectheaders("PINBOARD_ANSWER_BOOK")]
    assert status_of(lambda: v1.metadata_details("PINBOARD_ANSWER_BOOK", [theirs.board])) == 404


def test_v2_metadata_search(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    v2 = ts.v2("viewer")
    found = v2.metadata_search({"metadata": [{"type": "LIVEBOARD"}]})
    assert [(m["metadata_id"], m["metadata_type"]) for m in found] == [(made.board, "LIVEBOARD")]
    one = v2.post_request("metadata/search", {"metadata": [{"type": "ANSWER", "identifier": "revenue"}]})
    assert [m["metadata_id"] for m in one] == [made.query]
    assert (
        v2.post_request("metadata/search", {"metadata": [{"type": "ANSWER", "name_pattern": "nope"}]}) == []
    )


def test_archived_objects_show_only_with_showhidden(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    assert ts.org.editor.delete(f"/api/v1/queries/{made.query_id}").status_code in (200, 204)
    v1 = ts.v1("editor")
    assert v1.metadata_list("QUESTION_ANSWER_BOOK")["headers"] == []
    hidden = v1.metadata_list("QUESTION_ANSWER_BOOK", show_hidden=True)["headers"]
    assert [(h["id"], h["isHidden"]) for h in hidden] == [(made.query, True)]
    by_author = v1.metadata_list("PINBOARD_ANSWER_BOOK", author_guid=ts.guids["editor"])["headers"]
    assert [h["id"] for h in by_author] == [made.board]
    assert v1.metadata_list("PINBOARD_ANSWER_BOOK", author_guid=ts.guids["admin"])["headers"] == []
