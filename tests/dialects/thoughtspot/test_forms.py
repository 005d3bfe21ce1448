"""The V1 field parsers: JSON inside form fields, booleans as text, Python list literals; and
multipart text parts carrying `filename=` (over a live server, as the client sends them)."""

from __future__ import annotations

import pytest
import requests

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.thoughtspot.forms import flag, integer, json_strings, json_value, python_list
from tests.dialects.thoughtspot.conftest import ThoughtSpot


def test_python_list_literals_parse_without_evaluating_anything() -> None:
    docs = ['{"guid": "x", "name": "it\'s"}', '{"b": 2}']
    assert python_list(str(docs), "import_objects") == docs
    assert python_list('["a", "b"]', "import_objects") == ["a", "b"]  # JSON too
    assert python_list("('a',)", "import_objects") == ["a"]
    assert python_list('["\\u00e9t\\u00e9", null, true]', "f") == ["été", None, True]  # JSON-only words


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "[open('/etc/passwd').read()]",
        "['a', 'b'",
        "[1 + 1]",
        "{'not': 'a list'}",
        "'just a string'",
        "[" * 100_000 + "]" * 100_000,
        "",
    ],
    ids=["call", "open", "unclosed", "operator", "dict", "string", "deep", "empty"],
)
def test_malformed_or_hostile_lists_are_a_clear_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        python_list(text, "import_objects")
    assert caught.value.field == "import_objects"
    assert caught.value.reason


def test_json_lists_booleans_and_numbers_in_fields() -> None:
    assert json_strings('["g1", "g2"]', "userids") == ["g1", "g2"]
    assert json_strings("g1", "userids") == ["g1"]
    assert json_strings(None, "userids") == []
    assert json_value('{"a": [1]}', "permission") == {"a": [1]}
    assert (flag("TRUE", "x", False), flag("false", "x", True), flag(None, "x", True)) == (True, False, True)
    assert (integer("-1", "batchsize", 0), integer("", "batchsize", 7)) == (-1, 7)
    for call in (
        lambda: json_strings("[1, 2]", "userids"),
        lambda: json_strings('["unclosed"', "userids"),
        lambda: json_strings(None, "userids", required=True),
        lambda: json_value("{nope}", "permission"),
        lambda: flag("yes please", "notify", False),
        lambda: integer("ten", "batchsize", 0),
    ):
        with pytest.raises(InvalidInputError):
            call()


def test_bad_fields_answer_400_naming_the_field(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    guid = v1.group_post("g", "G", None)["header"]["id"]
    response = v1.requests_session.post(
        f"{ts.url}/callosum/v1/tspublic/v1/group/{guid}/users", params={"userids": "[not json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "userids"
    login = requests.post(
        f"{ts.url}/callosum/v1/tspublic/v1/session/login",
        data={"username": ts.emails["admin"], "password": "x", "rememberme": "perhaps"},
        timeout=30,
    )
    assert login.status_code == 400 and "rememberme" in login.json()["error"]["message"]


def test_multipart_text_parts_with_filenames_are_fields(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    v1.group_post("multi", "Multi", None)
    # What `files={"privilege": "...", ...}` sends: each part named after its field, as a file.
    response = v1.requests_session.post(
        f"{ts.url}/callosum/v1/tspublic/v1/group/addprivilege",
        files={"privilege": "DATADOWNLOADING", "groupNames": '["multi"]'},
    )
    assert response.status_code == 200, response.text
    assert 'filename="privilege"' in response.request.body.decode()  # type: ignore[union-attr]
    assert response.json()[0]["privileges"] == ["DATADOWNLOADING"]
