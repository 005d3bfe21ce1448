"""The authorisation matrix through the Alooma dialect (issue 7), with the real `alooma` client.

Alooma's objects (inputs, the Code Engine, secrets, the whole system) belong to the organization,
and changing them needs the admin role (MANAGE_SOURCES); of them only an input can be shared, which
hides it from the members it is not shared with. Unshared, a viewer V, an
editor E and an unrelated editor U of organization A read them (secret names only) and every change
raises (403), `clean_system` and `remove_all_inputs` included, leaving everything as it was; A's admin
may change them; the admin X of organization B sees none of them and cannot reach A's account; a query
key reaches nothing of the pipeline."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.authorization import Matrix, Party, build_matrix
from tests.conftest import Org
from tests.dialects.alooma.conftest import Alooma

CODE = "def transform(event):\n    event['seen'] = True\n    return event\n"


@pytest.fixture
def matrix(server: LiveServer, new_org: Org, admin: httpx.Client, al: Alooma) -> Iterator[Matrix]:
    yield from build_matrix(server, new_org, admin)


def set_up(al: Alooma) -> int:
    """A's admin makes an input, a transform and a secret; the input's id."""
    input_id: int = al.client.create_input({"name": "web", "type": "REST", "configuration": {}})
    al.client.set_code_engine_code({"main": CODE})
    al.client.set_secrets({"TOKEN": "s3cret"})
    return input_id


def state(client: Any) -> tuple[list[str], dict[str, str], list[str]]:
    """What a client reads: input names, transform modules, secret names."""
    return (
        sorted(i["name"] for i in client.get_inputs()),
        client.get_code_engine_code(),
        sorted(json.loads(client.get_secrets())),
    )


def changes(input_id: int) -> dict[str, Callable[[Any], Any]]:
    """Every change the client offers on inputs, code and secrets, and the admin-only sweeps."""
    return {
        "create_input": lambda c: c.create_input({"name": "other", "type": "REST", "configuration": {}}),
        "edit_input": lambda c: c.edit_input(
            {"id": input_id, "name": "renamed", "type": "REST", "configuration": {}}
        ),
        "pause_input_by_id": lambda c: c.pause_input_by_id(input_id),
        "remove_input": lambda c: c.remove_input(input_id),
        "set_code_engine_code": lambda c: c.set_code_engine_code(
            {"main": "def transform(e):\n\treturn None"}
        ),
        "set_transform_to_default": lambda c: c.set_transform_to_default(),
        "set_secrets": lambda c: c.set_secrets({"TOKEN": "stolen"}),
        "delete_secret": lambda c: c.delete_secret("TOKEN"),
        "remove_all_inputs": lambda c: c.remove_all_inputs(),
        "clean_system": lambda c: c.clean_system(),
    }


RAW_CHANGES = [
    ("post", "inputs", {"json": {"name": "other", "type": "REST", "configuration": {}}}),
    ("post", "transform/functions/main", {"json": {"code": CODE}}),
    ("put", "secrets", {"json": {"TOKEN": "stolen"}}),
    ("delete", "secrets/TOKEN", {}),
]


@pytest.mark.parametrize("role", ["V", "E", "U"])
def test_members_read_the_pipeline_and_every_change_is_refused(al: Alooma, matrix: Matrix, role: str) -> None:
    input_id = set_up(al)
    before = state(al.client)
    assert before == (["web"], {"main": CODE}, ["TOKEN"])
    party: Party = matrix.parties()[role]
    client = al.client_for(party.key)
    assert state(client) == before
    assert client.get_input_by_id(input_id)["job"]["name"] == "web"
    for name, change in changes(input_id).items():
        with pytest.raises(Exception) as refused:
            change(client)
        assert "403" in str(refused.value) or "ermission" in str(refused.value), (name, refused.value)
    for method, path, kwargs in RAW_CHANGES:
        answer = al.raw(method, path, key=party.key, **kwargs)
        assert answer.status_code == 403, (path, answer.text)
    assert state(al.client) == before


def test_the_admin_may_change_everything_and_clean_the_system(al: Alooma, matrix: Matrix) -> None:
    set_up(al)
    admin = al.client_for(matrix.admin.key)
    admin.set_secrets({"OTHER": "x"})
    admin.delete_secret("TOKEN")
    assert json.loads(admin.get_secrets()) == ["OTHER"]
    admin.clean_system()
    inputs, code, _ = state(admin)
    assert inputs == [] and code == {"main": "def transform(event):\n\treturn event"}


def test_another_organization_sees_nothing_of_the_pipeline(al: Alooma, matrix: Matrix) -> None:
    input_id = set_up(al)
    before = state(al.client)
    outsider = al.client_for(matrix.outsider.key)
    inputs, code, secrets = state(outsider)
    assert "web" not in inputs and code.get("main") != CODE and secrets == []
    assert al.raw("get", f"inputs/{input_id}", key=matrix.outsider.key).status_code == 404
    outsider.remove_all_inputs()
    outsider.clean_system()  # B's own system: A's stays as it was
    assert state(al.client) == before
    with pytest.raises(Exception, match="Invalid key or check account name"):
        al.client_for(matrix.outsider.key, account=al.slug).get_inputs()
    for method, path, kwargs in RAW_CHANGES:
        al.raw(method, path, key=matrix.outsider.key, **kwargs)  # B's own pipeline, if anything
    assert state(al.client) == before


def test_a_query_key_reaches_nothing_of_the_pipeline(al: Alooma, matrix: Matrix) -> None:
    input_id = set_up(al)
    query = al.org.admin.post("/api/v1/queries", json={"name": "K", "sql": "SELECT 1"}).json()
    key = matrix.query_key(query["id"])
    for path in ("inputs", f"inputs/{input_id}", "transform/functions", "secrets", "plumbing", "event-types"):
        answer = al.raw("get", path, key=key)
        assert answer.status_code in (401, 403), (path, answer.status_code, answer.text)
    for method, path, kwargs in RAW_CHANGES:
        assert al.raw(method, path, key=key, **kwargs).status_code in (401, 403), path


def test_a_shared_input_is_hidden_from_the_members_it_is_not_shared_with(al: Alooma, matrix: Matrix) -> None:
    input_id = set_up(al)
    open_id = al.client.create_input({"name": "open", "type": "REST", "configuration": {}})
    listed = al.org.admin.get("/api/v1/pipeline/inputs").json()["items"]
    native_ids = {i["name"]: i["id"] for i in listed}
    matrix.share("pipeline_input", native_ids["web"])
    parties = matrix.parties()
    for role in ("V", "E"):
        client = al.client_for(parties[role].key)
        assert sorted(i["name"] for i in client.get_inputs()) == ["open", "web"]
        assert client.get_input_by_id(input_id)["job"]["name"] == "web"
    unrelated = al.client_for(parties["U"].key)
    assert [i["name"] for i in unrelated.get_inputs()] == ["open"]
    assert unrelated.get_input_by_id(open_id)["job"]["name"] == "open"
    assert al.raw("get", f"inputs/{input_id}", key=parties["U"].key).status_code == 404
    # An editor holding a MODIFY share still may not change an input: that is the admin's.
    with pytest.raises(Exception, match=r"403|ermission"):
        al.client_for(parties["E"].key).pause_input_by_id(input_id)
    assert sorted(i["name"] for i in al.client.get_inputs()) == ["open", "web"]
