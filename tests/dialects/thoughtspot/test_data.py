"""V1 `searchdata` and `pinboarddata`, V2 `searchdata` and `.../data`, through the real client."""

from __future__ import annotations

import httpx
import pytest
import requests
from thoughtspot_rest_api_v1 import TSRestApiV2

from tests.dialects.thoughtspot.conftest import PASSWORD, ThoughtSpot, status_of

ROWS = [
    {"Region": "West", "Product": "Pen", "Sales": 10.0},
    {"Region": "West", "Product": "Ink", "Sales": 5.0},
    {"Region": "East", "Product": "Pen", "Sales": 7.0},
    {"Region": "North", "Product": "Ink", "Sales": 1.5},
]
TABLE = "LOGICAL_TABLE"


def make_dataset(native: httpx.Client) -> tuple[int, str]:
    """A dataset of sales by region and product; (id, GUID)."""
    columns = [{"name": "Region", "type": "string"}, {"name": "Product", "type": "string"}]
    created = native.post(
        "/api/v1/datasets", json={"name": "sales", "columns": [*columns, {"name": "Sales", "type": "float"}]}
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    loaded = native.post(f"/api/v1/datasets/{dataset['id']}/rows", json=ROWS)
    assert loaded.status_code == 200, loaded.text
    return dataset["id"], dataset["uuid"]


def test_searchdata_sums_a_measure_by_region(ts: ThoughtSpot) -> None:
    _, guid = make_dataset(ts.org.editor)
    answer = ts.v1("viewer").searchdata("[Region] [Sales]", guid)
    assert answer["columnNames"] == ["Region", "Sales"]
    assert answer["data"] == [["East", 7.0], ["North", 1.5], ["West", 15.0]]
    assert (answer["rowCount"], answer["totalRowCount"], answer["samplingRatio"]) == (3, 3, 1.0)


def test_searchdata_filters_top_n_and_pages(ts: ThoughtSpot) -> None:
    _, guid = make_dataset(ts.org.editor)
    v1 = ts.v1("viewer")
    assert v1.searchdata("[Product] [Sales] [Region] = 'West'", guid)["data"] == [["Ink", 5.0], ["Pen", 10.0]]
    assert v1.searchdata("[Region] [Sales] [Sales] > 6", guid)["data"] == [["East", 7.0], ["West", 10.0]]
    assert v1.searchdata("[Region] [Sales] top 2", guid)["data"] == [["West", 15.0], ["East", 7.0]]
    assert v1.searchdata("bottom 1 [Region] [Sales]", guid)["data"] == [["North", 1.5]]
    sorted_desc = v1.searchdata("[Region] sort by [Region] descending", guid)
    assert sorted_desc["data"] == [["West"], ["North"], ["East"]]
    page = v1.searchdata("[Region] [Sales]", guid, batch_size=2, page_number=2)
    assert page["data"] == [["West", 15.0]]
    assert (page["rowCount"], page["totalRowCount"], page["pageSize"], page["offset"]) == (1, 3, 2, 2)


def test_searchdata_full_format_answers_objects(ts: ThoughtSpot) -> None:
    _, guid = make_dataset(ts.org.editor)
    answer = ts.v1("viewer").searchdata("[Region] count [Product] [Region] = West", guid, format_type="FULL")
    assert answer["data"] == [{"Region": "West", "Product": 2}]


def test_searchdata_refuses_an_unknown_column_naming_it(ts: ThoughtSpot) -> None:
    _, guid = make_dataset(ts.org.editor)
    v1 = ts.v1("viewer")
    with pytest.raises(requests.HTTPError) as caught:
        v1.searchdata("[Region] [Colour]", guid)
    assert caught.value.response is not None and caught.value.response.status_code == 400
    assert "[Colour]" in caught.value.response.json()["error"]["message"]
    assert status_of(lambda: v1.searchdata("[Region] banana", guid)) == 400
    assert status_of(lambda: v1.searchdata("[Region]", guid, format_type="XML")) == 400


def test_a_dataset_shared_away_is_invisible_to_a_non_grantee(ts: ThoughtSpot) -> None:
    _, guid = make_dataset(ts.org.editor)
    editor = ts.v1("editor")
    permissions = editor.create_share_permissions(read_only_users_or_groups_guids=[ts.guids["admin"]])
    assert editor.security_share(TABLE, [guid], permissions) is True
    assert ts.v1("admin").searchdata("[Region]", guid)["rowCount"] == 3
    assert status_of(lambda: ts.v1("viewer").searchdata("[Region]", guid)) == 404


def test_searchdata_v2(ts: ThoughtSpot) -> None:
    _, guid = make_dataset(ts.org.editor)
    v2 = ts.v2("viewer")
    answer = v2.searchdata(
        {"query_string": "[Region] [Sales] top 1", "logical_table_identifier": guid, "data_format": "FULL"},
    )
    contents = answer["contents"][0]
    assert contents["column_names"] == ["Region", "Sales"]
    assert contents["data_rows"] == [{"Region": "West", "Sales": 15.0}]
    assert contents["available_data_row_count"] == 1


def make_liveboard(native: httpx.Client) -> tuple[str, str, str, str]:
    """A liveboard showing two saved queries; (liveboard, viz 1, viz 2, answer) GUIDs."""
    vizzes, answer = [], ""
    board = native.post("/api/v1/dashboards", json={"name": "Sales board"}).json()
    for name, sql in (
        ("Totals", "SELECT 1 AS n, 'a' AS label"),
        ("Pairs", "SELECT 2 AS n UNION ALL SELECT 3"),
    ):
        query = native.post("/api/v1/queries", json={"name": name, "sql": sql}).json()
        answer = answer or query["uuid"]
        viz = native.get(f"/api/v1/queries/{query['id']}/visualizations").json()["items"][0]
        added = native.post(f"/api/v1/dashboards/{board['id']}/widgets", json={"visualization_id": viz["id"]})
        assert added.status_code == 201, added.text
        vizzes.append(viz["uuid"])
    return board["uuid"], vizzes[0], vizzes[1], answer


def test_pinboarddata_runs_each_visualization(ts: ThoughtSpot) -> None:
    board, first, second, _ = make_liveboard(ts.org.editor)
    v1 = ts.v1("viewer")
    answer = v1.pinboarddata(board, None)
    assert sorted(answer) == sorted([first, second])
    assert answer[first]["columnNames"] == ["n", "label"] and answer[first]["data"] == [[1, "a"]]
    assert sorted(answer[second]["data"]) == [[2], [3]] and answer[second]["totalRowCount"] == 2
    chosen = v1.pinboarddata(board, [second], format_type="FULL", batch_size=1)
    assert list(chosen) == [second]
    assert chosen[second]["rowCount"] == 1 and set(chosen[second]["data"][0]) == {"n"}
    assert status_of(lambda: v1.pinboarddata(board, ["6b1f1c71-5cba-4a4b-9ae6-8bbd3c1d1c1d"])) == 400


def test_liveboard_and_answer_data_v2(ts: ThoughtSpot) -> None:
    board, first, _, answer = make_liveboard(ts.org.editor)
    v2 = ts.v2("viewer")
    liveboard = v2.metadata_liveboard_data({"metadata_identifier": board})
    assert liveboard["contents"][0]["visualization_id"] == first
    assert liveboard["contents"][0]["data_rows"] == [[1, "a"]]
    rows = v2.metadata_answer_data({"metadata_identifier": answer, "data_format": "FULL"})
    assert rows["metadata_name"] == "Totals" and rows["contents"][0]["data_rows"] == [{"n": 1, "label": "a"}]


def test_an_object_token_reads_its_liveboard_and_nothing_else(ts: ThoughtSpot) -> None:
    board, first, _, answer = make_liveboard(ts.org.editor)
    other_board, _, _, other_answer = make_liveboard(ts.org.editor)
    v2 = TSRestApiV2(server_url=ts.url)
    v2.bearer_token = v2.auth_token_object(ts.emails["viewer"], board, password=PASSWORD)["token"]
    liveboard = v2.metadata_liveboard_data({"metadata_identifier": board})
    assert liveboard["contents"][0]["visualization_id"] == first
    # What the liveboard shows is readable: its answers' data, and the liveboard as a PDF.
    rows = v2.metadata_answer_data({"metadata_identifier": answer})
    assert rows["contents"][0]["data_rows"] == [[1, "a"]]
    assert v2.post_request_binary("report/liveboard", {"metadata_identifier": board}).startswith(b"%PDF")
    # Another liveboard or answer is not there for this token; nor is anything but data.
    assert status_of(lambda: v2.metadata_liveboard_data({"metadata_identifier": other_board})) == 404
    assert status_of(lambda: v2.metadata_answer_data({"metadata_identifier": other_answer})) == 404
    assert status_of(lambda: v2.users_search({})) == 401
    assert status_of(v2.auth_session_user) == 401


def test_an_object_token_reaches_no_more_than_its_user(ts: ThoughtSpot) -> None:
    board, _, _, _ = make_liveboard(ts.org.editor)
    token = TSRestApiV2(server_url=ts.url).auth_token_object(ts.emails["viewer"], board, password=PASSWORD)
    # Sharing the liveboard with the admin only hides it from the viewer, so from their token too.
    shared = ts.org.editor.put(
        f"/api/v1/shares/dashboard/{_id_of(ts, board)}",
        json={"grants": [{"principal": "user", "id": ts.org.admin_user_id, "mode": "READ_ONLY"}]},
    )
    assert shared.status_code == 200, shared.text
    v2 = TSRestApiV2(server_url=ts.url)
    v2.bearer_token = token["token"]
    assert status_of(lambda: v2.metadata_liveboard_data({"metadata_identifier": board})) == 404


def _id_of(ts: ThoughtSpot, guid: str) -> int:
    found = ts.org.editor.get(f"/api/v1/dashboards/{guid}")
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def test_searchdata_buckets_dates_and_keeps_any_of_several_values(ts: ThoughtSpot) -> None:
    columns = [{"name": "Day", "type": "date"}, {"name": "Region", "type": "string"}]
    created = ts.org.editor.post(
        "/api/v1/datasets", json={"name": "daily", "columns": [*columns, {"name": "Sales", "type": "float"}]}
    )
    assert created.status_code == 201, created.text
    rows = [
        {"Day": "2024-01-05", "Region": "West", "Sales": 1.0},
        {"Day": "2024-01-20", "Region": "East", "Sales": 2.0},
        {"Day": "2024-02-03", "Region": "North", "Sales": 4.0},
    ]
    assert ts.org.editor.post(f"/api/v1/datasets/{created.json()['id']}/rows", json=rows).status_code == 200
    guid, v1 = created.json()["uuid"], ts.v1("viewer")
    monthly = v1.searchdata("[Day].monthly [Sales]", guid)["data"]
    assert [row[1] for row in monthly] == [3.0, 4.0] and str(monthly[0][0]).startswith("2024-01")
    later = v1.searchdata("[Region] [Sales] [Day] after '2024-01-10'", guid)["data"]
    assert later == [["East", 2.0], ["North", 4.0]]
    either = v1.searchdata("[Region] [Sales] [Region] = West [Region] = North", guid)["data"]
    assert either == [["North", 4.0], ["West", 1.0]]
