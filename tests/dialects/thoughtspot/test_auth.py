"""Sessions, bearer tokens and trusted authentication, through the real client."""

from __future__ import annotations

import time

import httpx
import requests
from thoughtspot_rest_api_v1 import TSRestApiV1, TSRestApiV2

from tests.dialects.thoughtspot.conftest import PASSWORD, OtherOrg, ThoughtSpot, status_of


def test_session_login_sets_the_cookie_and_logout_ends_it(ts: ThoughtSpot) -> None:
    v1 = TSRestApiV1(server_url=ts.url)
    assert v1.session_login(username=ts.emails["editor"].upper(), password=PASSWORD) is True
    cookie = next(c for c in v1.requests_session.cookies if c.name == "JSESSIONID")
    assert cookie.path == "/thoughtspot" and not cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    me = v1.user_get(name=ts.emails["editor"])
    assert me["header"]["id"] == ts.guids["editor"]

    assert v1.session_logout() is True
    assert status_of(lambda: v1.user_get()) == 401


def test_session_cookie_without_remember_me_lasts_the_browser_session(ts: ThoughtSpot) -> None:
    response = requests.post(
        f"{ts.url}/callosum/v1/tspublic/v1/session/login",
        data={"username": ts.emails["viewer"], "password": PASSWORD, "rememberme": "false"},
        timeout=30,
    )
    assert response.status_code == 204
    assert "Max-Age" not in response.headers["set-cookie"]


def test_wrong_password_is_401_in_the_vendor_shape(ts: ThoughtSpot) -> None:
    v1 = TSRestApiV1(server_url=ts.url)
    try:
        v1.session_login(username=ts.emails["admin"], password="not the password")
    except requests.HTTPError as exc:
        assert exc.response is not None and exc.response.status_code == 401
        body = exc.response.json()
        assert body["error"]["code"] == "unauthenticated" and body["debug"]
    else:
        raise AssertionError("logged in with a wrong password")
    assert status_of(lambda: TSRestApiV1(server_url=ts.url).group_get()) == 401


def test_v1_cookie_writes_need_x_requested_by(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    del v1.requests_session.headers["X-Requested-By"]
    assert status_of(lambda: v1.group_post("forged", "Forged", None)) == 403
    assert v1.group_get() == []  # reads need no header


def test_bearer_token_from_auth_token_full_works_on_v1_and_v2(ts: ThoughtSpot) -> None:
    before = int(time.time() * 1000)
    v2 = TSRestApiV2(server_url=ts.url)
    answer = v2.auth_token_full(username=ts.emails["viewer"], password=PASSWORD, validity_time_in_sec=600)
    assert answer["token"].startswith("olut_") and len(answer["token"]) == 45
    assert answer["valid_for_user_id"] == ts.guids["viewer"]
    assert answer["valid_for_username"] == ts.emails["viewer"]
    assert before - 1000 <= answer["creation_time_in_millis"] <= before + 60_000
    assert answer["expiration_time_in_millis"] - answer["creation_time_in_millis"] == 600_000

    v1 = TSRestApiV1(server_url=ts.url)
    v1.bearer_token = v2.bearer_token = answer["token"]
    assert v1.user_get(user_id=ts.guids["viewer"])["header"]["name"] == ts.emails["viewer"]
    me = v2.auth_session_user()
    assert me["id"] == ts.guids["viewer"] and me["email"] == ts.emails["viewer"]
    assert me["current_org"]["id"] == ts.org.id


def test_bearer_tokens_of_other_kinds_work_too(ts: ThoughtSpot) -> None:
    v2 = TSRestApiV2(server_url=ts.url)
    v2.bearer_token = ts.org.keys["editor"]  # a native API key
    assert v2.auth_session_user()["name"] == ts.emails["editor"]


def test_expired_and_wrong_tokens_are_refused(ts: ThoughtSpot) -> None:
    token = ts.token("viewer", validity=1)
    v2 = TSRestApiV2(server_url=ts.url)
    v2.bearer_token = token
    assert v2.auth_session_user()["id"] == ts.guids["viewer"]
    time.sleep(1.2)
    assert status_of(v2.auth_session_user) == 401
    assert status_of(lambda: v2.auth_token_validate(token)) == 401
    v1 = TSRestApiV1(server_url=ts.url)
    v1.bearer_token = token
    assert status_of(v1.user_get) == 401

    v1.bearer_token = "olut_" + "0" * 40
    assert status_of(v1.group_get) == 401
    bad = TSRestApiV2(server_url=ts.url)
    assert status_of(lambda: bad.auth_token_full(ts.emails["viewer"], password="wrong password")) == 401
    for validity in (0, 86_401):
        assert (
            status_of(
                lambda: bad.auth_token_full(ts.emails["viewer"], PASSWORD, validity_time_in_sec=validity)
            )
            == 400
        )


def test_token_validate_and_revoke(ts: ThoughtSpot) -> None:
    v2 = ts.v2("editor")
    token = v2.bearer_token
    assert v2.auth_token_validate(token) is None  # the client drops the answer
    info = v2.post_request("auth/token/validate", {"token": token})
    assert info["valid_for_user_id"] == ts.guids["editor"] and info["scope"]["access_type"] == "FULL"
    assert v2.auth_token_revoke() is True
    assert status_of(v2.auth_session_user) == 401


def test_v2_session_login_with_password_or_bearer(ts: ThoughtSpot) -> None:
    v2 = TSRestApiV2(server_url=ts.url)
    v2.auth_session_login(username=ts.emails["viewer"], password=PASSWORD, org_identifier=ts.org.id)
    assert v2.auth_session_user()["id"] == ts.guids["viewer"]
    v1 = TSRestApiV1(server_url=ts.url)
    v1.requests_session.cookies = v2.requests_session.cookies  # the same cookie serves V1
    assert v1.user_get(user_id=ts.guids["viewer"])["header"]["id"] == ts.guids["viewer"]
    assert v2.auth_session_logout() is True
    assert status_of(v2.auth_session_user) == 401

    by_token = TSRestApiV2(server_url=ts.url)
    by_token.auth_session_login(bearer_token=ts.token("editor"))
    assert "Authorization" not in by_token.requests_session.headers
    assert by_token.auth_session_user()["id"] == ts.guids["editor"]


def test_trusted_authentication_login_token_is_used_once(ts: ThoughtSpot) -> None:
    key = ts.trusted_key()
    backend = TSRestApiV1(server_url=ts.url)
    token = backend.session_auth_token(secret_key=key, username=ts.emails["viewer"], access_level="FULL")
    assert token.startswith("olut_")

    browser = TSRestApiV1(server_url=ts.url)
    response = browser.session_login_token_post(
        ts.emails["viewer"], token, redirect_url="https://elsewhere.test/"
    )
    assert response.status_code == 204  # a foreign redirect_url is not followed
    assert browser.user_get(user_id=ts.guids["viewer"])["state"] == "ACTIVE"

    again = TSRestApiV1(server_url=ts.url)
    assert status_of(lambda: again.session_login_token_post(ts.emails["viewer"], token, "")) == 401
    assert status_of(again.user_get) == 401


def test_login_token_redirects_within_the_server(ts: ThoughtSpot) -> None:
    key = ts.trusted_key()
    backend = TSRestApiV1(server_url=ts.url)
    token = backend.session_auth_token(secret_key=key, username=ts.emails["editor"])
    browser = TSRestApiV1(server_url=ts.url)
    landing = f"{ts.url}/api/rest/2.0/auth/session/user"
    response = browser.session_login_token_post(ts.emails["editor"], token, redirect_url=landing)
    assert response.status_code == 200 and response.history[0].status_code == 302
    assert response.json()["id"] == ts.guids["editor"]


def test_trusted_authentication_refuses_wrong_keys_and_other_users(
    ts: ThoughtSpot, other_org: OtherOrg
) -> None:
    key = ts.trusted_key()
    backend = TSRestApiV1(server_url=ts.url)
    assert status_of(lambda: backend.session_auth_token("olta_wrong", ts.emails["viewer"])) == 401
    # the key reaches its own organization's users only
    assert status_of(lambda: backend.session_auth_token(key, other_org.email)) == 404
    token = backend.session_auth_token(key, ts.emails["viewer"])
    browser = TSRestApiV1(server_url=ts.url)
    assert status_of(lambda: browser.session_login_token_post(ts.emails["editor"], token, "")) == 401
    assert status_of(lambda: backend.session_auth_token(key, ts.emails["viewer"], "REPORT_BOOK_VIEW")) == 400

    rotated = ts.trusted_key()
    assert rotated != key
    assert status_of(lambda: backend.session_auth_token(key, ts.emails["viewer"])) == 401


def test_trusted_authentication_gives_bearer_tokens_and_creates_users(ts: ThoughtSpot) -> None:
    key = ts.trusted_key()
    group = ts.v1("admin").group_post("sso", "SSO users", ["DATADOWNLOADING"])
    v2 = TSRestApiV2(server_url=ts.url)
    email = f"new.person@{ts.emails['admin'].split('@')[1]}"
    answer = v2.auth_token_full(
        username=email,
        secret_key=key,
        auto_create=True,
        display_name="New Person",
        email=email,
        group_identifiers=["sso"],
    )
    v2.bearer_token = answer["token"]
    me = v2.auth_session_user()
    assert (me["name"], me["display_name"]) == (email, "New Person")
    assert me["user_groups"] == [{"id": group["header"]["id"], "name": "sso"}]
    assert "DATADOWNLOADING" in me["privileges"] and "ADMINISTRATION" not in me["privileges"]
    unknown = TSRestApiV2(server_url=ts.url)
    assert status_of(lambda: unknown.auth_token_full(username=f"x.{email}", secret_key=key)) == 404


def test_object_tokens_name_one_object_and_are_not_general_bearer_tokens(ts: ThoughtSpot) -> None:
    created = ts.org.admin.post("/api/v1/dashboards", json={"name": "Sales"})
    assert created.status_code == 201, created.text
    v2 = TSRestApiV2(server_url=ts.url)
    answer = v2.auth_token_object(ts.emails["viewer"], created.json()["uuid"], password=PASSWORD)
    assert answer["scope"] == {
        "access_type": "REPORT_BOOK_VIEW",
        "org_id": ts.org.id,
        "metadata_id": created.json()["uuid"],
    }
    v2.bearer_token = answer["token"]
    assert status_of(v2.auth_session_user) == 401
    missing = TSRestApiV2(server_url=ts.url)
    assert (
        status_of(lambda: missing.auth_token_object(ts.emails["viewer"], ts.guids["viewer"], PASSWORD)) == 404
    )


def test_unimplemented_paths_answer_501_in_the_vendor_shape(ts: ThoughtSpot) -> None:
    response = httpx.get(f"{ts.url}/callosum/v1/tspublic/v1/metadata/listvizheaders")
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "not_implemented"


def test_home_liveboard_is_accepted_and_not_stored(ts: ThoughtSpot) -> None:
    v1 = ts.v1("viewer")
    assert v1.session_homepinboard_post("3f1d5d8c-1111-4d7e-9e8e-0a6c2b8f9a01", ts.guids["viewer"]) is None
    anonymous = TSRestApiV1(server_url=ts.url)
    assert status_of(lambda: anonymous.session_homepinboard_post("x", ts.guids["viewer"])) == 401
