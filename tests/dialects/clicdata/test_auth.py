"""Authentication: client credentials (and renewal after expiry), Basic, bad tokens, isolation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

from openlytics.testing import LiveServer
from tests.conftest import make_settings
from tests.dialects.clicdata import wrapper_client as wc
from tests.dialects.clicdata.conftest import ClicData, new_oauth_client


def test_client_credentials_give_a_bearer_token_that_works(cd: ClicData) -> None:
    session = cd.session()
    assert session.access_token.startswith("olat_")
    assert session.token_expire_time.timestamp() - time.time() > 3000
    assert (
        wc.Data(
            client_id=cd.credentials["admin"][0], client_secret=cd.credentials["admin"][1], url=cd.url
        ).get_data(output="dict")
        == []
    )


def test_token_endpoint_answers_rfc6749_errors(cd: ClicData) -> None:
    client_id, _secret = cd.credentials_of("admin")
    wrong = requests.post(
        cd.url + "oauth20/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"},
        timeout=30,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client" and wrong.json()["error_description"]
    grant = requests.post(
        cd.url + "oauth20/token", data={"grant_type": "password", "client_id": client_id}, timeout=30
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    # The wrapper itself cannot build a header without a token: it fails clearly, client-side.
    with pytest.raises(TypeError):
        wc.Session(client_id=client_id, client_secret="nope", url=cd.url)


def test_forged_or_missing_token_is_401_in_the_dialect_shape(cd: ClicData) -> None:
    for header in ({"Authorization": "Bearer olat_forged"}, {"Authorization": "Bearer olk_forged"}, {}):
        answer = requests.get(cd.url + "data", headers=header, timeout=30)
        assert answer.status_code == 401, answer.text
        assert answer.json()["success"] is False and answer.json()["error"]["code"] == "unauthenticated"


def test_basic_token_of_client_id_and_user_password(cd: ClicData) -> None:
    client_id, _ = cd.credentials_of("editor")
    user_id = cd.org.editor_user_id
    changed = cd.call("PUT", f"user/{user_id}/password", json={"password": "s3cret-Passw0rd!"})
    assert changed.status_code == 200, changed.text
    email = cd.call("GET", f"user/{user_id}").json()["users"][0]["email"]
    basic = wc.Session(
        auth_method="basic", client_id=client_id, username=email, password="s3cret-Passw0rd!", url=cd.url
    )
    answer = basic.api_call("data", "get")
    assert answer.status_code == 200 and answer.json() == {"data": []}
    bad = wc.Session(auth_method="basic", client_id=client_id, username=email, password="wrong", url=cd.url)
    refused = bad.api_call("data", "get")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose access tokens live two seconds."""
    data_dir: Path = tmp_path_factory.mktemp("clicdata-ttl") / "data"
    settings, databases = make_settings(data_dir, "sqlite", oauth_token_ttl_seconds=2)
    live = LiveServer(settings).start()
    try:
        yield live
    finally:
        live.stop()
        databases.drop()


def test_expired_token_is_refused_and_the_client_renews_it(short_lived: LiveServer) -> None:
    admin = httpx.Client(
        base_url=short_lived.url, headers={"Authorization": f"Bearer {short_lived.admin_key}"}, timeout=60
    )
    client_id, secret = new_oauth_client(admin)
    url = f"{short_lived.url}/clicdata/"
    session = wc.Session(client_id=client_id, client_secret=secret, url=url)
    assert session.api_call("data", "get").status_code == 200
    old_header = dict(session.header)
    time.sleep(2.5)
    expired = requests.get(url + "data", headers=old_header, timeout=30)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "unauthenticated"
    # The wrapper checks the advertised expiry before each call and fetches a new token.
    session.reinitialize()
    assert session.token_requests == 2 and session.header != old_header
    assert session.api_call("data", "get").status_code == 200
    assert session.token_requests == 2
    admin.close()


def test_another_organizations_token_cannot_read_a_data_set(cd: ClicData, admin: httpx.Client) -> None:
    rec_id = int(wc.Data(**_params(cd)).create_data("private", cols={"x": "number"}).text)
    slug = f"other-{rec_id}-{time.time_ns()}"
    other_org = admin.post(
        "/api/v1/organizations", json={"name": slug, "admin_email": f"a@{slug}.test"}
    ).json()
    other = httpx.Client(
        base_url=str(admin.base_url), headers={"Authorization": f"Bearer {other_org['api_key']}"}
    )
    client_id, secret = new_oauth_client(other)
    theirs = wc.Session(client_id=client_id, client_secret=secret, url=cd.url)
    for suffix in (f"data/{rec_id}", f"data/{rec_id}/versions"):
        answer = theirs.api_call(suffix, "get")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert (
        theirs.api_call(
            f"data/{rec_id}/row", "post", body={"data": [[{"column": "x", "value": 1}]]}
        ).status_code
        == 404
    )
    assert all(d["rec_id"] != rec_id for d in theirs.api_call("data", "get").json()["data"])
    other.close()


def _params(cd: ClicData) -> dict[str, str]:
    client_id, secret = cd.credentials_of("admin")
    return {"client_id": client_id, "client_secret": secret, "url": cd.url}


def test_unknown_paths_answer_501_in_the_dialect_shape(cd: ClicData) -> None:
    answer = cd.call("GET", "widget/3")
    assert answer.status_code == 501
    assert answer.json()["success"] is False and answer.json()["error"]["code"] == "not_implemented"
