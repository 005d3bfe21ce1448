"""TML export and import (V1 `metadata/tml/export|import`, V2 the same paths) through the real
client, on liveboards and answers made with the native API."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx
import pytest
import yaml
from thoughtspot_rest_api_v1 import TSRestApiV1

from tests.dialects.thoughtspot.conftest import PASSWORD, OtherOrg, ThoughtSpot, status_of

V1_TML = "callosum/v1/tspublic/v1/metadata/tml"
MISSING = "6b1f1c71-5cba-4a4b-9ae6-8bbd3c1d1c1d"
LIVEBOARD, ANSWER = "PINBOARD_ANSWER_BOOK", "QUESTION_ANSWER_BOOK"


def make_liveboard(native: httpx.Client, name: str = "Sales board") -> dict[str, str]:
    """A liveboard showing one chart of each of two answers; GUIDs by name ("board", answers')."""
    guids = {}
    board = native.post("/api/v1/dashboards", json={"name": name, "tags": ["exec"]}).json()
    guids["board"] = board["uuid"]
    for answer, sql in (
        ("Totals", "SELECT 1 AS n, 'a' AS label"),
        ("Pairs", "SELECT 2 AS n UNION ALL SELECT 3"),
    ):
        query = native.post("/api/v1/queries", json={"name": answer, "sql": sql}).json()
        viz = native.post(
            "/api/v1/visualizations",
            json={"query_id": query["id"], "type": "CHART", "name": f"{answer} chart", "options": {}},
        )
        assert viz.status_code == 201, viz.text
        added = native.post(
            f"/api/v1/dashboards/{board['id']}/widgets", json={"visualization_id": viz.json()["id"]}
        )
        assert added.status_code == 201, added.text
        guids[answer] = query["uuid"]
    return guids


def headers_of(v1: TSRestApiV1) -> dict[str, list[str]]:
    """The names of the liveboards and answers the client sees."""
    return {
        kind: sorted(h["name"] for h in v1.metadata_listobjectheaders(kind)) for kind in (LIVEBOARD, ANSWER)
    }


def answer_sql(v1: TSRestApiV1, guid: str) -> str:
    sql: str = v1.metadata_details(ANSWER, [guid])["storables"][0]["sqlQuery"]
    return sql


def tml_errors(caught: pytest.ExceptionInfo[SyntaxError]) -> list[str]:
    """The error messages of the elements the client raised SyntaxError for."""
    objects = caught.value.args[0]
    found = []
    for element in objects:
        status = (element.get("response") or element.get("info"))["status"]
        if status["status_code"] == "ERROR":
            found.append(status["error_message"])
    return found


def names_of(exported: dict[str, Any]) -> dict[str, str]:
    return {o["info"]["name"]: o["info"]["id"] for o in exported["object"]}


def post_form(v1: TSRestApiV1, path: str, data: dict[str, str]) -> Any:
    """A raw V1 form post (as the client sends it: `Accept: text/plain`)."""
    return v1.requests_session.post(
        f"{v1.base_url}metadata/tml/{path}", data=data, headers={"Accept": "text/plain"}
    )


# ----- export ---------------------------------------------------------------------------------------
def test_export_a_liveboard_as_tml_in_json_and_yaml(ts: ThoughtSpot) -> None:
    made = make_liveboard(ts.org.editor)
    v1 = ts.v1("viewer")
    document = v1.metadata_tml_export(made["board"])
    assert list(document) == ["guid", "liveboard"]
    assert document["guid"] == made["board"]
    board = document["liveboard"]
    assert board["name"] == "Sales board" and board["tags"] == ["exec"]
    widgets = [w["visualization"] for w in board["widgets"]]
    assert [(w["name"], w["query"]["name"], w["query"]["fqn"]) for w in widgets] == [
        ("Totals chart", "Totals", made["Totals"]),
        ("Pairs chart", "Pairs", made["Pairs"]),
    ]
    without_fqn = v1.metadata_tml_export(made["board"], export_fqn=False)
    assert "fqn" not in without_fqn["liveboard"]["widgets"][0]["visualization"]["query"]

    as_yaml = v1.metadata_tml_export_string(made["board"])  # YAML by default
    assert not as_yaml.lstrip().startswith("{")
    assert yaml.safe_load(as_yaml) == json.loads(json.dumps(document))
    as_json = v1.metadata_tml_export_string(made["Totals"], formattype="json")
    answer = json.loads(as_json)
    assert answer["guid"] == made["Totals"] and answer["answer"]["sql"] == "SELECT 1 AS n, 'a' AS label"
    assert [v["name"] for v in answer["answer"]["visualizations"]] == ["Table", "Totals chart"]


def test_export_with_associations_lists_what_the_liveboard_refers_to(ts: ThoughtSpot) -> None:
    made = make_liveboard(ts.org.editor)
    v1 = ts.v1("editor")
    document, names = v1.metadata_tml_export_with_associations_map(made["board"])
    assert document["guid"] == made["board"]
    assert {k: v for k, v in names.items() if k != "Warehouse"} == {
        "Sales board": made["board"],
        "Totals": made["Totals"],
        "Pairs": made["Pairs"],
    }
    text, same = v1.metadata_tml_export_string_with_associations_map(made["board"])
    assert same == names and yaml.safe_load(text)["guid"] == made["board"]

    whole = v1.metadata_tml_export(made["board"], export_associated=True)
    infos = [o["info"] for o in whole["object"]]
    # Each object once, each followed by what it refers to: the first answer by its connection.
    assert [i["type"] for i in infos] == [LIVEBOARD, ANSWER, "DATA_SOURCE", ANSWER]
    assert [i["status"]["status_code"] for i in infos] == ["OK"] * 4
    assert infos[0]["filename"] == "Sales board.liveboard.tml"
    assert [list(json.loads(o["edoc"]))[1] for o in whole["object"]] == [
        "liveboard",
        "answer",
        "connection",
        "answer",
    ]


def test_export_of_an_unknown_or_foreign_guid_is_an_error_element(
    ts: ThoughtSpot, other_org: OtherOrg
) -> None:
    made = make_liveboard(ts.org.editor)
    v1 = ts.v1("admin")
    with pytest.raises(SyntaxError) as caught:
        v1.metadata_tml_export(MISSING)
    assert tml_errors(caught) == [f"object {MISSING} not found"]
    raw = post_form(v1, "export", {"export_ids": json.dumps([MISSING]), "formattype": "JSON"})
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/json")
    assert raw.json()["object"][0]["info"]["status"]["status_code"] == "ERROR"
    with pytest.raises(SyntaxError):
        TSRestApiV1.raise_tml_errors(response=raw)

    theirs = TSRestApiV1(server_url=ts.url)
    theirs.session_login(username=other_org.email, password=PASSWORD)
    with pytest.raises(SyntaxError) as caught:
        theirs.metadata_tml_export_string(made["board"])
    (message,) = tml_errors(caught)
    assert "Sales board" not in message  # nothing about the object leaks
    bad = post_form(v1, "export", {"export_ids": json.dumps([made["board"]]), "formattype": "XML"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"


# ----- import ---------------------------------------------------------------------------------------
def test_a_liveboard_exported_with_associations_changed_validated_and_imported_as_new(
    ts: ThoughtSpot,
) -> None:
    made = make_liveboard(ts.org.editor)
    v1 = ts.v1("editor")
    exported = v1.metadata_tml_export(made["board"], export_associated=True)
    documents = [json.loads(o["edoc"]) for o in exported["object"]]
    documents[0]["liveboard"]["name"] = "Sales board (copy)"
    totals = next(d for d in documents if d.get("guid") == made["Totals"])
    totals["answer"]["sql"] = "SELECT 42 AS n, 'z' AS label"
    before = headers_of(v1)

    checked = v1.metadata_tml_import(documents, validate_only=True)
    assert [o["response"]["status"]["status_code"] for o in checked["object"]] == ["OK"] * len(documents)
    assert headers_of(v1) == before  # validating wrote nothing
    assert answer_sql(v1, made["Totals"]) == "SELECT 1 AS n, 'a' AS label"
    assert v1.metadata_details(LIVEBOARD, [made["board"]])["storables"][0]["header"]["name"] == "Sales board"

    response = v1.metadata_tml_import(documents, create_new_on_server=True)
    guids = v1.guids_from_imported_tml(response)
    assert len(guids) == len(documents)
    headers = [o["response"]["header"] for o in response["object"]]
    assert [h["metadata_type"] for h in headers] == [LIVEBOARD, ANSWER, "DATA_SOURCE", ANSWER]
    assert [h["name"] for h in headers] == ["Sales board (copy)", "Totals", "Warehouse", "Pairs"]
    new_board, new_totals, source, new_pairs = guids
    assert source == names_of(exported)["Warehouse"]  # the organization's warehouse, not a copy
    assert {new_board, new_totals, new_pairs}.isdisjoint(made.values())
    assert headers[0]["author_guid"] == ts.guids["editor"]

    # The copy, through the existing endpoints: its name, its answers (the copies), their SQL, its data.
    details = v1.metadata_details(LIVEBOARD, [new_board])["storables"][0]
    assert details["header"]["name"] == "Sales board (copy)"
    assert sorted(details["header"]["resolvedObjects"]) == sorted([new_totals, new_pairs])
    assert answer_sql(v1, new_totals) == "SELECT 42 AS n, 'z' AS label"
    data = v1.pinboarddata(new_board, None)
    assert sorted(tuple(map(tuple, viz["data"])) for viz in data.values()) == [((2,), (3,)), ((42, "z"),)]
    # The originals are untouched.
    assert answer_sql(v1, made["Totals"]) == "SELECT 1 AS n, 'a' AS label"
    assert headers_of(v1) == {
        LIVEBOARD: ["Sales board", "Sales board (copy)"],
        ANSWER: ["Pairs", "Pairs", "Totals", "Totals"],
    }


def test_importing_a_changed_answer_updates_it_by_guid(ts: ThoughtSpot) -> None:
    made = make_liveboard(ts.org.editor)
    v1 = ts.v1("editor")
    document = v1.metadata_tml_export(made["Pairs"])
    document["answer"]["sql"] = "SELECT 5 AS n"
    response = v1.metadata_tml_import(document)
    assert v1.guids_from_imported_tml(response) == [made["Pairs"]]
    assert answer_sql(v1, made["Pairs"]) == "SELECT 5 AS n"
    # YAML text, and the core's own word for the kind, are accepted too.
    text = yaml.safe_dump({"guid": made["Pairs"], "query": {"name": "Pairs renamed"}})
    again = v1.metadata_tml_import([text], formattype="YAML")
    assert again["object"][0]["response"]["header"]["id_guid"] == made["Pairs"]
    assert v1.metadata_details(ANSWER, [made["Pairs"]])["storables"][0]["header"]["name"] == "Pairs renamed"


def test_a_broken_reference_fails_the_import_and_changes_nothing(ts: ThoughtSpot) -> None:
    made = make_liveboard(ts.org.editor)
    v1 = ts.v1("editor")
    board = v1.metadata_tml_export(made["board"], export_fqn=False)
    board["liveboard"]["name"] = "Renamed"
    board["liveboard"]["widgets"][0]["visualization"]["query"] = {"name": "No such answer"}
    answer = v1.metadata_tml_export(made["Totals"])
    answer["answer"]["sql"] = "SELECT 7 AS n"
    new_answer = {"guid": str(uuid.uuid4()), "answer": {"name": "Fresh", "sql": "SELECT 1"}}
    before = headers_of(v1)
    with pytest.raises(SyntaxError) as caught:
        v1.metadata_tml_import([answer, board, new_answer])
    statuses = [o["response"]["status"]["status_code"] for o in caught.value.args[0]]
    assert statuses == ["OK", "ERROR", "OK"]
    (message,) = tml_errors(caught)
    assert "No such answer" in message
    # All or none: the answer that was fine was not changed, the new one not created.
    assert headers_of(v1) == before
    assert answer_sql(v1, made["Totals"]) == "SELECT 1 AS n, 'a' AS label"
    assert v1.metadata_details(LIVEBOARD, [made["board"]])["storables"][0]["header"]["name"] == "Sales board"


def test_a_wrong_type_key_or_unreadable_text_is_an_error_element(ts: ThoughtSpot) -> None:
    v1 = ts.v1("editor")
    before = headers_of(v1)
    wrong = {"guid": str(uuid.uuid4()), "pinboard": {"name": "Old word"}}
    with pytest.raises(SyntaxError) as caught:
        v1.metadata_tml_import([wrong, {"answer": {"name": "ok", "sql": "SELECT 1"}}])
    (message,) = tml_errors(caught)
    assert "pinboard" in message and "one kind key expected" in message
    with pytest.raises(SyntaxError) as caught:
        v1.metadata_tml_import(["answer: [unclosed"], formattype="YAML")
    (message,) = tml_errors(caught)
    assert message.startswith("import_objects[0]")
    assert headers_of(v1) == before


def test_partial_import_keeps_the_documents_that_succeed(ts: ThoughtSpot) -> None:
    v1 = ts.v1("editor")
    good = json.dumps({"answer": {"name": "Kept", "sql": "SELECT 1"}})
    bad = json.dumps({"answer": {"name": "Typo", "sqll": "SELECT 1"}})
    raw = post_form(v1, "import", {"import_objects": str([good, bad]), "import_policy": "PARTIAL"})
    assert raw.status_code == 200, raw.text
    statuses = [o["response"]["status"] for o in raw.json()["object"]]
    assert statuses[0] == {"status_code": "OK"}
    assert statuses[1]["status_code"] == "ERROR" and "sqll" in statuses[1]["error_message"]
    assert headers_of(v1)[ANSWER] == ["Kept"]


def test_import_objects_must_be_a_list_literal(ts: ThoughtSpot) -> None:
    v1 = ts.v1("editor")
    for value in ("__import__('os').system('true')", "{'answer': 1}", "['unclosed"):
        raw = post_form(v1, "import", {"import_objects": value, "import_policy": "ALL_OR_NONE"})
        assert raw.status_code == 400, value
        body = raw.json()
        assert body["error"]["code"] == "invalid_input" and "import_objects" in body["debug"]
    raw = post_form(v1, "import", {"import_objects": "[]"})
    assert raw.status_code == 400
    raw = post_form(v1, "import", {"import_objects": "['{}']", "import_policy": "SOMETIMES"})
    assert raw.status_code == 400 and "import_policy" in raw.json()["debug"]


def test_a_viewer_can_export_but_not_import(ts: ThoughtSpot) -> None:
    made = make_liveboard(ts.org.editor)
    viewer = ts.v1("viewer")
    document = viewer.metadata_tml_export(made["Totals"])
    document["answer"]["sql"] = "SELECT 9 AS n"
    assert status_of(lambda: viewer.metadata_tml_import(document)) == 403
    assert status_of(lambda: viewer.metadata_tml_import(document, validate_only=True)) == 403
    assert answer_sql(ts.v1("editor"), made["Totals"]) == "SELECT 1 AS n, 'a' AS label"
    assert status_of(lambda: TSRestApiV1(server_url=ts.url).metadata_tml_export(made["Totals"])) == 401


# ----- V2 -------------------------------------------------------------------------------------------
def test_v2_export_and_import(ts: ThoughtSpot) -> None:
    made = make_liveboard(ts.org.editor)
    v2 = ts.v2("editor")
    exported = v2.post_request(
        "metadata/tml/export",
        {"metadata": [{"identifier": made["board"]}], "export_associated": True, "export_fqn": True},
    )
    assert [e["info"]["type"] for e in exported] == ["LIVEBOARD", "ANSWER", "CONNECTION", "ANSWER"]
    board = json.loads(exported[0]["edoc"])
    assert board["liveboard"]["widgets"][0]["visualization"]["query"]["fqn"] == made["Totals"]
    # By name, in YAML, through the client's own method.
    by_name = v2.metadata_tml_export(["Totals"], edoc_format="YAML")
    assert yaml.safe_load(by_name[0]["edoc"])["guid"] == made["Totals"]
    unknown = v2.metadata_tml_export(["No such answer"])
    assert unknown[0]["info"]["status"]["error_message"] == "object No such answer not found"
    missing = v2.metadata_tml_export([MISSING])
    assert missing[0]["info"]["status"] == {
        "status_code": "ERROR",
        "error_message": f"object {MISSING} not found",
    }

    changed = copy.deepcopy(board)
    changed["liveboard"]["name"] = "V2 copy"
    texts = [json.dumps(changed), *(e["edoc"] for e in exported[1:])]
    checked = v2.post_request(
        "metadata/tml/import", {"metadata_tmls": texts, "import_policy": "VALIDATE_ONLY", "create_new": True}
    )
    assert [c["response"]["status"]["status_code"] for c in checked] == ["OK"] * 4
    assert "V2 copy" not in headers_of(ts.v1("editor"))[LIVEBOARD]
    imported = v2.metadata_tml_import(texts, import_policy="ALL_OR_NONE", create_new=True)
    header = imported[0]["response"]["header"]
    assert header["metadata_type"] == "LIVEBOARD" and header["name"] == "V2 copy"
    assert header["id_guid"] not in made.values()
    assert ts.v1("editor").metadata_details(LIVEBOARD, [header["id_guid"]])["storables"][0]["header"][
        "name"
    ] == ("V2 copy")
    # PARTIAL (the default): the failing document is reported, the others applied.
    partial = v2.metadata_tml_import(
        [json.dumps({"answer": {"name": "V2 answer", "sql": "SELECT 1"}}), "[1, 2]"]
    )
    assert [p["response"]["status"]["status_code"] for p in partial] == ["OK", "ERROR"]
    assert "V2 answer" in headers_of(ts.v1("editor"))[ANSWER]
    assert status_of(lambda: ts.v2("viewer").metadata_tml_import(texts)) == 403
    assert status_of(lambda: v2.post_request("metadata/tml/import", {"metadata_tmls": "x"})) == 400
    assert status_of(lambda: v2.post_request("metadata/tml/export", {"metadata": []})) == 400
