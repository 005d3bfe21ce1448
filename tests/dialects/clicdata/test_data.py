"""Data sets through the wrapper's calls: custom tables, rows, pages, versions, deletes, updates, rebuilds."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
import requests

from tests.dialects.clicdata import wrapper_client as wc
from tests.dialects.clicdata.conftest import ClicData

ALL_TYPES = {
    "label": "text",
    "amount": "number",
    "at": "datetime",
    "day": "date",
    "share": "percentage",
    "done": "checkbox",
    "choice": "dropdown",
    "key": "rec_id",
}


def data(cd: ClicData, role: str = "admin") -> wc.Data:
    cd.manager(role)
    return wc.Data()


def new_table(cd: ClicData, name: str, cols: dict[str, Any]) -> int:
    created = data(cd).create_data(name=name, description=f"{name} table", cols=cols)
    assert created.status_code == 200, created.text
    return int(created.text)


def rows_of(cd: ClicData, rec_id: int, role: str = "admin") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = data(cd, role).get_data(rec_id=rec_id, output="dict")
    return rows


def append(cd: ClicData, rec_id: int, rows: list[dict[str, Any]]) -> requests.Response:
    body = {"data": [[{"column": k, "value": v} for k, v in row.items()] for row in rows]}
    return cd.call("POST", f"data/{rec_id}/row", json=body)


def test_create_data_answers_the_bare_id_and_keeps_clicdata_types(cd: ClicData) -> None:
    rec_id = new_table(cd, "Everything", ALL_TYPES)
    listed = data(cd).get_data(output="dict")
    assert [d["rec_id"] for d in listed] == [rec_id]
    meta = listed[0]
    assert {c["name"]: c["data_type"] for c in meta["columns"]} == ALL_TYPES
    assert meta["name"] == "Everything" and meta["description"] == "Everything table"
    assert meta["type"] == "custom" and meta["refresh"] is False and meta["unique_key_available"] is False
    assert meta["row_count"] == 0 and meta["created_date"] and meta["modified_date"]
    row = {
        "label": "a",
        "amount": 2.5,
        "at": "2024-03-01T10:30:00",
        "day": "2024-03-01",
        "share": 0.25,
        "done": True,
        "choice": "red",
        "key": 7,
    }
    added = data(cd).append_data(rec_id, pd.DataFrame([row]))
    assert json.loads(added) == {"success": True, "rows_added": 1, "row_count": 1}
    assert rows_of(cd, rec_id) == [row]


def test_create_and_append_from_a_dataframe(cd: ClicData) -> None:
    frame = pd.DataFrame({"city": ["Paris", "Lyon"], "sales": [10, 20], "open": [True, False]}).astype(
        {"city": object}
    )
    result = data(cd).create_and_append(name="Cities", description="", data=frame)
    assert '"rows_added":2' in result["status"]
    back = data(cd).get_data(rec_id=result["rec_id"])
    assert back.to_dict(orient="records") == [
        {"city": "Paris", "sales": 10.0, "open": True},
        {"city": "Lyon", "sales": 20.0, "open": False},
    ]


def test_bad_definitions_answer_errors_not_ids(cd: ClicData) -> None:
    new_table(cd, "Taken", {"x": "number"})
    duplicate = data(cd).create_data(name="Taken", cols={"x": "number"})
    assert duplicate.status_code == 409 and duplicate.json()["success"] is False
    with pytest.raises(ValueError):
        int(duplicate.text)
    unknown = data(cd).create_data(name="Odd", cols={"x": "currency"})
    assert unknown.status_code == 400
    assert "columns[0].data_type" in unknown.json()["error"]["message"]
    assert "currency" in unknown.json()["error"]["message"]


def test_list_filters_by_name_key_and_refresh(cd: ClicData) -> None:
    keyed = new_table(cd, "Sales 2024", {"id": "number", "v": "number"})
    new_table(cd, "Costs", {"id": "number"})
    assert cd.org.admin.patch(f"/api/v1/datasets/{keyed}", json={"primary_key": ["id"]}).status_code == 200
    query = cd.org.admin.post("/api/v1/queries", json={"name": "q", "sql": "SELECT 1 AS id"}).json()
    refreshable = cd.org.admin.post(
        "/api/v1/datasets", json={"name": "From query", "source_query_id": query["id"]}
    )
    assert refreshable.status_code == 201, refreshable.text
    d = data(cd)
    assert [x["name"] for x in d.get_data(name="SALES", output="dict")] == ["Sales 2024"]
    assert [x["name"] for x in d.get_data(unique_key_available=True, output="dict")] == ["Sales 2024"]
    refreshing = d.get_data(refresh=True, output="dict")
    assert [(x["name"], x["type"]) for x in refreshing] == [("From query", "query")]
    assert len(d.get_data()) == 3
    # Python literals in any case; anything else is refused.
    lowercase = cd.call("GET", "data", params={"refresh": "false"}).json()["data"]
    assert sorted(x["name"] for x in lowercase) == ["Costs", "Sales 2024"]
    assert cd.call("GET", "data", params={"refresh": "maybe"}).status_code == 400


def test_rows_come_in_pages_of_1000(cd: ClicData) -> None:
    rec_id = new_table(cd, "Big", {"n": "number", "label": "text"})
    assert append(cd, rec_id, [{"n": i, "label": f"row {i}"} for i in range(2500)]).status_code == 200
    pages = [cd.call("GET", f"data/{rec_id}", params={"page": p}).json() for p in (1, 2, 3, 4)]
    assert [(p["page"], p["count"], p["has_more_data"]) for p in pages] == [
        (1, 1000, True),
        (2, 1000, True),
        (3, 500, False),
        (4, 0, False),
    ]
    rows = rows_of(cd, rec_id)
    assert [r["n"] for r in rows] == list(range(2500))
    assert data(cd).retrieve_paginated_data(f"data/{rec_id}") == rows
    small = cd.call("GET", f"data/{rec_id}", params={"page": 2, "pagesize": 10}).json()
    assert [r["n"] for r in small["data"]] == list(range(10, 20))
    assert cd.call("GET", f"data/{rec_id}", params={"pagesize": 10**6}).status_code == 400
    assert cd.call("GET", f"data/{rec_id}", params={"page": 0}).status_code == 400


def test_versions_after_reloads_and_reading_an_old_one(cd: ClicData) -> None:
    rec_id = new_table(cd, "Versions", {"n": "number"})
    for content in ("n\n1\n", "n\n1\n2\n", "n\n1\n2\n3\n"):
        reloaded = cd.org.admin.put(
            f"/api/v1/datasets/{rec_id}/data", content=content, headers={"Content-Type": "text/csv"}
        )
        assert reloaded.status_code == 200, reloaded.text
    d = data(cd)
    versions = d.get_data_history(rec_id, output="dict")
    assert [v["row_count"] for v in versions[:3]] == [3, 2, 1]
    assert all(v["data_rec_id"] == rec_id and v["created_date"] for v in versions)
    middle = versions[1]["ver_id"]
    assert [r["n"] for r in d.get_data_history(rec_id, ver_id=middle, output="dict")] == [1, 2]
    assert [r["n"] for r in d.get_data(rec_id=rec_id, output="dict")] == [1, 2, 3]
    missing = cd.call("GET", f"data/{rec_id}/v/999")
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_a_wrong_typed_cell_is_refused_and_nothing_is_added(cd: ClicData) -> None:
    rec_id = new_table(cd, "Typed", {"n": "number", "label": "text"})
    assert append(cd, rec_id, [{"n": 1, "label": "one"}]).status_code == 200
    bad = append(cd, rec_id, [{"n": 2, "label": "two"}, {"n": "three", "label": "three"}])
    assert bad.status_code == 400
    message = bad.json()["error"]["message"]
    assert "row 1" in message and "'n'" in message and "three" in message
    unknown = append(cd, rec_id, [{"n": 2, "label": "two"}, {"n": 3, "colour": "red"}])
    assert unknown.status_code == 400
    assert "row 1" in unknown.json()["error"]["message"] and "colour" in unknown.json()["error"]["message"]
    assert rows_of(cd, rec_id) == [{"n": 1, "label": "one"}]


def test_nan_and_infinity_tokens_are_accepted_as_missing_values(cd: ClicData) -> None:
    rec_id = new_table(cd, "Floats", {"x": "number"})
    body = '{"data": [[{"column": "x", "value": NaN}], [{"column": "x", "value": 1.5}]]}'
    answer = cd.call("POST", f"data/{rec_id}/row", data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert [r["x"] for r in rows_of(cd, rec_id)] in ([None, 1.5], [1.5, None])


def test_delete_rows_first_or_all(cd: ClicData) -> None:
    rec_id = new_table(cd, "Deletes", {"k": "text", "n": "number"})
    rows = [
        {"k": "a", "n": 1},
        {"k": "b", "n": 2},
        {"k": "a", "n": 3},
        {"k": "a", "n": 4},
        {"k": "c", "n": 5},
    ]
    append(cd, rec_id, rows)
    first = cd.call(
        "DELETE",
        f"data/{rec_id}/row",
        json={"multiplerows": "first", "find": [{"column": "k", "value": "a"}]},
    )
    assert first.status_code == 200 and first.json()["rows_deleted"] == 1
    assert [r["n"] for r in rows_of(cd, rec_id)] == [2, 3, 4, 5]
    # As a fixed wrapper sends it: the filter in the query string (DELETE bodies are dropped).
    everything = data(cd).delete_data(rec_id, filters={"k": "a"}, multiple_rows="all")
    assert '"rows_deleted":2' in everything
    assert [r["n"] for r in rows_of(cd, rec_id)] == [2, 5]
    unknown = cd.call("DELETE", f"data/{rec_id}/row", json={"find": [{"column": "nope", "value": 1}]})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]["message"]
    odd = cd.call(
        "DELETE", f"data/{rec_id}/row", json={"multiplerows": "some", "find": [{"column": "k", "value": "b"}]}
    )
    assert odd.status_code == 400 and "multiplerows" in odd.json()["error"]["message"]
    assert [r["n"] for r in rows_of(cd, rec_id)] == [2, 5]


def test_update_rows(cd: ClicData) -> None:
    rec_id = new_table(cd, "Updates", {"k": "text", "n": "number"})
    append(cd, rec_id, [{"k": "a", "n": 1}, {"k": "b", "n": 2}, {"k": "a", "n": 3}])
    body = {
        "multiplerows": "all",
        "find": [{"column": "k", "value": "a"}],
        "data": [{"column": "n", "value": 9}],
    }
    updated = cd.call("PUT", f"data/{rec_id}/row", json=body)
    assert updated.status_code == 200 and updated.json()["rows_updated"] == 2
    assert rows_of(cd, rec_id) == [{"k": "a", "n": 9}, {"k": "b", "n": 2}, {"k": "a", "n": 9}]
    first = {**body, "multiplerows": "first", "data": [{"column": "n", "value": 0}]}
    assert cd.call("PUT", f"data/{rec_id}/row", json=first).json()["rows_updated"] == 1
    assert sorted(r["n"] for r in rows_of(cd, rec_id)) == [0, 2, 9]
    wrong = {**body, "data": [{"column": "n", "value": "many"}]}
    assert cd.call("PUT", f"data/{rec_id}/row", json=wrong).status_code == 400
    assert sorted(r["n"] for r in rows_of(cd, rec_id)) == [0, 2, 9]


def test_every_rebuild_method_reruns_the_source_query(cd: ClicData) -> None:
    source = new_table(cd, "src", {"id": "number", "amount": "number"})
    append(cd, source, [{"id": 1, "amount": 10}, {"id": 2, "amount": 20}])
    admin = cd.org.admin
    query = admin.post(
        "/api/v1/queries", json={"name": "src rows", "sql": "SELECT id, amount FROM src ORDER BY id"}
    )
    assert query.status_code == 201, query.text
    target = admin.post(
        "/api/v1/datasets", json={"name": "target", "source_query_id": query.json()["id"]}
    ).json()
    rec_id = target["id"]
    d = data(cd)

    def amounts() -> list[tuple[int, float]]:
        return sorted((int(r["id"]), r["amount"]) for r in rows_of(cd, rec_id))

    reloaded = d.rebuild_data(rec_id, "reload")
    assert '"success":true' in reloaded and '"rows_read":2' in reloaded
    assert amounts() == [(1, 10), (2, 20)]
    assert admin.patch(f"/api/v1/datasets/{rec_id}", json={"primary_key": ["id"]}).status_code == 200
    append(cd, source, [{"id": 3, "amount": 30}])
    d.rebuild_data(rec_id, "append")
    assert len(amounts()) == 5
    d.rebuild_data(rec_id, "recreate")
    assert amounts() == [(1, 10), (2, 20), (3, 30)]
    cd.call(
        "PUT",
        f"data/{source}/row",
        json={"find": [{"column": "id", "value": 1}], "data": [{"column": "amount", "value": 100}]},
    )
    append(cd, source, [{"id": 4, "amount": 40}])
    d.rebuild_data(rec_id, "update")
    assert amounts() == [(1, 100), (2, 20), (3, 30)]
    d.rebuild_data(rec_id, "updateappend")
    assert amounts() == [(1, 100), (2, 20), (3, 30), (4, 40)]
    cd.call("DELETE", f"data/{source}/row", json={"find": [{"column": "id", "value": 4}]})
    alias = cd.call("POST", f"data/{rec_id}/rebuild")  # the README's name for reload
    assert alias.status_code == 200 and alias.json()["method"] == "reload"
    assert amounts() == [(1, 100), (2, 20), (3, 30)]
    assert len(d.get_data_history(rec_id, output="dict")) >= 3


def test_rebuilding_a_custom_table_changes_nothing_and_bad_methods_are_refused(cd: ClicData) -> None:
    rec_id = new_table(cd, "Custom", {"n": "number"})
    append(cd, rec_id, [{"n": 1}])
    answer = cd.call("POST", f"data/{rec_id}/reload")
    assert (
        answer.status_code == 200 and answer.json()["success"] is True and answer.json()["rebuilt"] is False
    )
    assert rows_of(cd, rec_id) == [{"n": 1}]
    bad = cd.call("POST", f"data/{rec_id}/refreshall")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"


def test_unknown_rec_id_is_404(cd: ClicData) -> None:
    for method, suffix in (
        ("GET", "data/987654"),
        ("GET", "data/987654/versions"),
        ("POST", "data/987654/reload"),
    ):
        answer = cd.call(method, suffix)
        assert answer.status_code == 404, (suffix, answer.text)
        assert answer.json() == {
            "success": False,
            "error": {
                "code": "not_found",
                "message": answer.json()["error"]["message"],
                "details": answer.json()["error"]["details"],
            },
        }
    # The wrapper's page loop stops on the 404 and returns what it had: nothing.
    assert data(cd).get_data(rec_id=987654, output="dict") == []
    assert cd.call("GET", "data/not-a-number").status_code == 400
