"""The authorisation matrix through the Serenytics dialect (issue 7), with the real `serenytics`
client: data sources (the core's datasets), web apps (dashboards) and scripts.

A's admin shares a data source or web app READ_ONLY with a viewer V and MODIFY with an editor E: both
get it through the client, V's changes raise and answer 403, E's succeed; an unrelated editor U and
the admin X of another organization get the client's Unknown... errors (404) and never find it
listed. Unshared objects and scripts (which are not shareable) stay open to A, closed to B; a query
key reaches none of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.authorization import Matrix, Party, build_matrix
from tests.conftest import Org
from tests.dialects.serenytics.conftest import Serenytics
from tests.dialects.serenytics.test_scripts import create_script


@pytest.fixture
def matrix(server: LiveServer, new_org: Org, admin: httpx.Client, sty: Serenytics) -> Iterator[Matrix]:
    yield from build_matrix(server, new_org, admin)


def raw(sty: Serenytics, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{sty.base}/api", headers={"X-Api-Key": key}, timeout=60)


def refused(response: httpx.Response, status: int) -> None:
    """`status` in Serenytics' shape: `{"status": "error", "errors": [...]}`."""
    assert response.status_code == status, response.text
    assert response.json()["status"] == "error" and response.json()["errors"]


@dataclass(frozen=True)
class Kind:
    """A shareable kind: make it (A's admin; core id and UUID), get/list it and change it through the client."""

    name: str
    path: str  # the dialect's collection
    make: Callable[[Serenytics], tuple[int, str]]
    get: Callable[[Any, str], Any]
    listing: Callable[[Any], list[Any]]
    change: Callable[[Any], None]  # on what `get` returned
    unknown: str  # the client's exception class for "not found"


def new_source(sty: Serenytics) -> tuple[int, str]:
    source = sty.client.get_or_create_storage_data_source_by_name("matrix source")
    source.reload_data([{"n": 1}])
    native = sty.org.admin.get(f"/api/v1/datasets/{source.uuid}").json()
    return int(native["id"]), str(source.uuid)


def new_webapp(sty: Serenytics) -> tuple[int, str]:
    app = sty.create_webapp("matrix app")
    native = sty.org.admin.get(f"/api/v1/dashboards/{app.uuid}").json()
    return int(native["id"]), str(app.uuid)


def save_webapp(app: Any) -> None:
    app.set_custom_css("body { color: red }")
    app.save()


KINDS = [
    Kind(
        "dataset",
        "data_source",
        new_source,
        lambda client, uuid: client.get_data_source_by_uuid(uuid),
        lambda client: client.get_data_sources(),
        lambda source: source.reload_data([{"n": 2}, {"n": 3}]),
        "UnknownDataSource",
    ),
    Kind(
        "dashboard",
        "web_app",
        new_webapp,
        lambda client, uuid: client.get_webapp_by_uuid(uuid),
        lambda client: client.get_webapps(),
        save_webapp,
        "UnknownWebApp",
    ),
]


def sees(sty: Serenytics, party: Party, kind: Kind, uuid: str) -> Any:
    """What the client gets for the party, or None when it is hidden (unknown and unlisted)."""
    client = sty.client_for(party.key)
    listed = uuid in {o.uuid for o in kind.listing(client)}
    try:
        found = kind.get(client, uuid)
    except Exception as exc:
        assert type(exc).__name__ == kind.unknown, exc
        assert not listed
        with raw(sty, party.key) as http:
            refused(http.get(f"/{kind.path}/{uuid}"), 404)
        return None
    assert found.uuid == uuid and listed
    return found


def changes(sty: Serenytics, party: Party, kind: Kind, uuid: str) -> int:
    """The status of the party's change, through the client when it reaches the object, else raw."""
    found = sees(sty, party, kind, uuid)
    if found is None:
        with raw(sty, party.key) as http:
            answer = http.put(f"/{kind.path}/{uuid}", json={"name": "changed"})
            refused(answer, 404)
            return 404
    try:
        kind.change(found)
    except Exception as exc:
        assert type(exc).__name__ == "SerenyticsException", exc
        with raw(sty, party.key) as http:
            answer = http.put(f"/{kind.path}/{uuid}", json={"name": "changed"})
            refused(answer, 403)
            return 403
    return 200


@pytest.mark.parametrize("kind", KINDS, ids=[k.path for k in KINDS])
def test_a_shared_object_reaches_exactly_its_grantees(sty: Serenytics, matrix: Matrix, kind: Kind) -> None:
    object_id, uuid = kind.make(sty)
    matrix.share(kind.name, object_id)
    assert changes(sty, matrix.viewer, kind, uuid) == 403
    assert changes(sty, matrix.editor, kind, uuid) == 200
    assert changes(sty, matrix.unrelated, kind, uuid) == 404
    assert changes(sty, matrix.outsider, kind, uuid) == 404


@pytest.mark.parametrize("kind", KINDS, ids=[k.path for k in KINDS])
def test_an_unshared_object_is_open_to_its_organization_only(
    sty: Serenytics, matrix: Matrix, kind: Kind
) -> None:
    _, uuid = kind.make(sty)
    assert changes(sty, matrix.viewer, kind, uuid) == 403
    assert changes(sty, matrix.unrelated, kind, uuid) == 200
    assert changes(sty, matrix.outsider, kind, uuid) == 404


def test_scripts_are_open_to_the_organization_and_closed_to_others(sty: Serenytics, matrix: Matrix) -> None:
    script = create_script(sty, "matrix script", "print('hi')\n")
    for party in (matrix.viewer, matrix.editor, matrix.unrelated):
        client = sty.client_for(party.key)
        assert client.get_script_by_uuid(script.uuid).name == "matrix script"
        assert client.get_script_by_name("matrix script").uuid == script.uuid
    with raw(sty, matrix.viewer.key) as viewer:
        refused(viewer.put(f"/script/{script.uuid}/storage", content=b'{"a": 1}'), 403)
    with raw(sty, matrix.editor.key) as editor:
        assert editor.put(f"/script/{script.uuid}/storage", content=b'{"a": 1}').status_code == 200
    outsider = sty.client_for(matrix.outsider.key)
    with pytest.raises(Exception) as unknown:
        outsider.get_script_by_uuid(script.uuid)
    assert type(unknown.value).__name__ == "UnknownScript"
    with raw(sty, matrix.outsider.key) as http:
        for answer in (
            http.get(f"/script/{script.uuid}"),
            http.post(f"/script/{script.uuid}/run", json={}),
            http.get(f"/script/{script.uuid}/storage"),
        ):
            refused(answer, 404)
        assert script.uuid not in {s["uuid"] for s in http.get("/script").json()["objects"]}


def test_a_query_key_reaches_no_data_source_web_app_or_script(sty: Serenytics, matrix: Matrix) -> None:
    _, source_uuid = new_source(sty)
    _, app_uuid = new_webapp(sty)
    script = create_script(sty, "matrix script", "print('hi')\n")
    query = sty.org.admin.post("/api/v1/queries", json={"name": "K", "sql": "SELECT 1"}).json()
    with raw(sty, matrix.query_key(query["id"])) as k:
        for path in (
            "/data_source",
            f"/data_source/{source_uuid}",
            "/web_app",
            f"/web_app/{app_uuid}",
            "/script",
            f"/script/{script.uuid}",
        ):
            answer = k.get(path)
            assert answer.status_code in (401, 403), (path, answer.text)
