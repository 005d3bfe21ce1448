"""Users and groups (V1 `user/`, `group...`; V2 `users/...`), through the real client."""

from __future__ import annotations

import requests
from thoughtspot_rest_api_v1 import TSRestApiV1, TSRestApiV2
from thoughtspot_rest_api_v1.details_objects import GroupDetails, UserDetails

from tests.dialects.thoughtspot.conftest import PASSWORD, OtherOrg, ThoughtSpot, status_of

V1_PATH = "/callosum/v1/tspublic/v1/"


def test_user_get_one_or_all(ts: ThoughtSpot) -> None:
    v1 = ts.v1("viewer")
    everyone = v1.user_get()
    assert sorted(u["header"]["name"] for u in everyone) == sorted(ts.emails.values())
    admin = v1.user_get(user_id=ts.guids["admin"])
    assert admin["header"]["id"] == ts.guids["admin"] and admin["type"] == "LOCAL_USER"
    assert "ADMINISTRATION" in admin["privileges"] and admin["state"] == "ACTIVE"
    assert v1.user_get(name=ts.emails["editor"].upper())["header"]["id"] == ts.guids["editor"]
    details = UserDetails(v1.user_get(name=ts.emails["viewer"]))
    assert details.privileges() == ["AUTHORING", "DATADOWNLOADING"]
    assert details.assigned_groups() == [] and details.inherited_groups() == []
    assert details.state_of_user() == "ACTIVE" and details.is_user_superuser() is False
    assert (details.username(), details.display_name()) == (ts.emails["viewer"], "viewer")
    assert details.last_modified_timestamp() >= details.created_timestamp() > 1_600_000_000_000
    assert status_of(lambda: v1.user_get(user_id="6b1f1c71-5cba-4a4b-9ae6-8bbd3c1d1c1d")) == 404


def test_groups_are_created_listed_and_read(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    created = v1.group_post("analysts", "Analysts", ["DATAMANAGEMENT"], visibility="NON_SHARABLE")
    guid = created["headers"]["id"]
    assert created["header"] == created["headers"]
    assert created["header"]["name"] == "analysts" and created["header"]["displayName"] == "Analysts"
    assert created["header"]["author"] == ts.guids["admin"]
    assert created["privileges"] == ["DATAMANAGEMENT"] and created["visibility"] == "NON_SHARABLE"
    assert created["type"] == "LOCAL_GROUP"

    assert v1.group_get(group_guid=guid)["header"]["id"] == guid
    assert v1.group_get(name="analysts")["header"]["id"] == guid
    assert [g["header"]["name"] for g in v1.group_get()] == ["analysts"]
    details = GroupDetails(v1.group_get(group_guid=guid))
    assert details.privileges() == ["DATAMANAGEMENT"] and details.assigned_groups() == []

    assert status_of(lambda: v1.group_post("analysts", "Again", None)) == 409
    assert status_of(lambda: v1.group_post("bad", "Bad", ["NOT_A_PRIVILEGE"])) == 400
    assert status_of(lambda: v1.group_post("ldap", "Ldap", None, group_type="LDAP_GROUP")) == 400
    assert status_of(lambda: ts.v1("viewer").group_post("mine", "Mine", None)) == 403
    assert status_of(lambda: v1.group_get(name="nobody")) == 404


def test_group_members_are_added_replaced_and_listed(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    guid = v1.group_post("sales", "Sales", ["DATADOWNLOADING"])["header"]["id"]
    assert v1.group_users_post(guid, [ts.guids["viewer"], ts.guids["editor"]]) is True
    assert sorted(h["id"] for h in v1.group_users_get(guid)) == sorted(
        [ts.guids["viewer"], ts.guids["editor"]]
    )
    listed = v1.group_listuser(guid)
    assert {u["header"]["name"] for u in listed} == {ts.emails["viewer"], ts.emails["editor"]}
    assert all(u["assignedGroups"] == [guid] for u in listed)
    assert [g["id"] for g in v1.user_groups_get(ts.guids["viewer"])] == [guid]

    replaced = v1.requests_session.put(
        f"{ts.url}{V1_PATH}group/{guid}/users", params={"userids": f'["{ts.guids["admin"]}"]'}
    )
    assert replaced.status_code == 204, replaced.text
    assert [h["id"] for h in v1.group_users_get(guid)] == [ts.guids["admin"]]
    assert v1.user_groups_get(ts.guids["viewer"]) == []

    trailing = v1.requests_session.get(f"{ts.url}{V1_PATH}group/{guid}/users/")
    assert trailing.status_code == 200 and len(trailing.json()) == 1
    assert status_of(lambda: v1.group_users_post(guid, ["no-such-user"])) == 404
    assert status_of(lambda: ts.v1("editor").group_users_post(guid, [ts.guids["editor"]])) == 403


def test_nested_groups_and_inherited_privileges(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    outer = v1.group_post("all-staff", "All staff", ["USERDATAUPLOADING"])["header"]["id"]
    inner = v1.group_post("team-a", "Team A", None)["header"]["id"]
    added = v1.requests_session.post(
        f"{ts.url}{V1_PATH}group/{outer}/groups", params={"groupids": f'["{inner}"]'}
    )
    assert added.status_code == 204, added.text
    assert [g["id"] for g in v1.requests_session.get(f"{ts.url}{V1_PATH}group/{outer}/groups").json()] == [
        inner
    ]
    v1.group_users_post(inner, [ts.guids["viewer"]])

    viewer = v1.user_get(user_id=ts.guids["viewer"])
    assert viewer["assignedGroups"] == [inner] and viewer["inheritedGroups"] == [outer]
    assert "USERDATAUPLOADING" in viewer["privileges"]
    assert v1.group_get(group_guid=inner)["assignedGroups"] == [outer]

    cycle = v1.requests_session.post(
        f"{ts.url}{V1_PATH}group/{inner}/groups", params={"groupids": f'["{outer}"]'}
    )
    assert cycle.status_code == 400 and "cycle" in cycle.json()["error"]["message"]
    removed = v1.requests_session.delete(
        f"{ts.url}{V1_PATH}group/{outer}/groups", params={"groupids": f'["{inner}"]'}
    )
    assert removed.status_code == 204
    assert v1.user_get(user_id=ts.guids["viewer"])["inheritedGroups"] == []


def test_group_privileges_change_through_multipart_calls(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    v1.group_post("uploaders", "Uploaders", None)
    changed = v1.group_addprivilege("USERDATAUPLOADING", ["uploaders"])
    assert changed[0]["privileges"] == ["USERDATAUPLOADING"]
    assert v1.group_removeprivilege("USERDATAUPLOADING", ["uploaders"])[0]["privileges"] == []
    assert status_of(lambda: v1.group_addprivilege("FLYING", ["uploaders"])) == 400


def test_group_delete(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    guid = v1.group_post("temporary", "Temporary", None)["header"]["id"]
    assert v1.group_delete(guid) is True
    assert status_of(lambda: v1.group_get(group_guid=guid)) == 404


def test_users_search_filters_sorts_and_pages(ts: ThoughtSpot) -> None:
    v1, v2 = ts.v1("admin"), ts.v2("admin")
    guid = v1.group_post("finance", "Finance", None)["header"]["id"]
    v1.group_users_post(guid, [ts.guids["editor"]])

    everyone = v2.users_search({"record_size": -1})
    assert sorted(u["name"] for u in everyone) == sorted(ts.emails.values())
    one = everyone[0]
    assert {"id", "display_name", "email", "visibility", "account_type", "account_status", "orgs"} <= set(one)
    assert one["orgs"] == [{"id": ts.org.id, "name": one["current_org"]["name"]}]

    assert [u["id"] for u in v2.users_search({"user_identifier": ts.emails["viewer"]})] == [
        ts.guids["viewer"]
    ]
    assert [u["name"] for u in v2.users_search({"group_identifiers": ["finance"]})] == [ts.emails["editor"]]
    assert [u["name"] for u in v2.users_search({"privileges": ["ADMINISTRATION"]})] == [ts.emails["admin"]]
    assert [u["name"] for u in v2.users_search({"name_pattern": "view%"})] == [ts.emails["viewer"]]
    assert v2.users_search({"org_identifiers": ["No Such Org"]}) == []
    assert len(v2.users_search({"org_identifiers": [ts.org.id]})) == 3

    by_name = v2.users_search({"sort_options": {"field_name": "NAME", "order": "DESC"}, "record_size": -1})
    assert [u["name"] for u in by_name] == sorted(ts.emails.values(), reverse=True)
    page = v2.users_search({"sort_options": {"field_name": "NAME"}, "record_offset": 1, "record_size": 1})
    assert [u["name"] for u in page] == [sorted(ts.emails.values())[1]]
    assert status_of(lambda: v2.users_search({"record_size": "ten"})) == 400
    assert status_of(lambda: v2.users_search({"sort_options": {"field_name": "SHOE_SIZE"}})) == 400


def test_users_update_changes_name_status_and_groups(ts: ThoughtSpot) -> None:
    v1, v2 = ts.v1("admin"), ts.v2("admin")
    first = v1.group_post("first", "First", None)["header"]["id"]
    second = v1.group_post("second", "Second", None)["header"]["id"]

    assert (
        v2.users_update(ts.guids["viewer"], {"display_name": "Vera Viewer", "group_identifiers": ["first"]})
        is True
    )
    me = v2.users_search({"user_identifier": ts.guids["viewer"]})[0]
    assert me["display_name"] == "Vera Viewer" and [g["id"] for g in me["user_groups"]] == [first]

    v2.users_update(ts.emails["viewer"], {"group_identifiers": [second], "operation": "ADD"})
    assert sorted(g["id"] for g in v1.user_groups_get(ts.guids["viewer"])) == sorted([first, second])
    v2.users_update(ts.emails["viewer"], {"group_identifiers": ["first"], "operation": "REMOVE"})
    assert [g["id"] for g in v1.user_groups_get(ts.guids["viewer"])] == [second]
    v2.users_update(ts.emails["viewer"], {"group_identifiers": [], "operation": "REPLACE"})
    assert v1.user_groups_get(ts.guids["viewer"]) == []

    v2.users_update(ts.guids["viewer"], {"account_status": "INACTIVE"})
    assert v1.user_get(user_id=ts.guids["viewer"])["state"] == "INACTIVE"
    assert status_of(lambda: ts.v1("viewer")) == 401
    v2.users_update(ts.guids["viewer"], {"account_status": "ACTIVE", "preferred_locale": "en-GB"})

    assert status_of(lambda: v2.users_update(ts.guids["viewer"], {"name": "renamed"})) == 400
    assert status_of(lambda: v2.users_update(ts.guids["viewer"], {"shoe_size": 44})) == 400
    assert status_of(lambda: v2.users_update(ts.guids["viewer"], {"group_identifiers": ["nope"]})) == 404
    assert status_of(lambda: v2.users_update(ts.guids["viewer"], {"operation": "MERGE"})) == 400
    assert status_of(lambda: ts.v2("editor").users_update(ts.guids["viewer"], {"display_name": "x"})) == 403


def test_users_reset_password_then_log_in_with_it(ts: ThoughtSpot) -> None:
    v2 = ts.v2("admin")
    assert v2.users_reset_password(ts.guids["editor"], "a brand new secret") is True
    assert status_of(lambda: ts.v1("editor")) == 401
    v1 = TSRestApiV1(server_url=ts.url)
    assert v1.session_login(ts.emails["editor"], "a brand new secret") is True
    assert status_of(lambda: v2.users_reset_password(ts.guids["editor"], "short")) == 400
    assert (
        status_of(lambda: ts.v2("viewer").users_reset_password(ts.guids["viewer"], "another secret")) == 403
    )


def test_another_organization_sees_and_touches_none_of_it(ts: ThoughtSpot, other_org: OtherOrg) -> None:
    guid = ts.v1("admin").group_post("private", "Private", None)["header"]["id"]
    stranger = TSRestApiV1(server_url=ts.url)
    stranger.session_login(other_org.email, PASSWORD)
    assert [u["header"]["id"] for u in stranger.user_get()] == [other_org.guid]
    assert stranger.group_get() == []
    assert status_of(lambda: stranger.user_get(user_id=ts.guids["viewer"])) == 404
    assert status_of(lambda: stranger.group_get(group_guid=guid)) == 404
    assert status_of(lambda: stranger.group_users_get(guid)) == 404
    assert status_of(lambda: stranger.group_users_post(guid, [other_org.guid])) == 404
    assert status_of(lambda: stranger.user_groups_get(ts.guids["viewer"])) == 404

    v2 = TSRestApiV2(server_url=ts.url)
    v2.bearer_token = TSRestApiV2(server_url=ts.url).auth_token_full(other_org.email, PASSWORD)["token"]
    assert [u["id"] for u in v2.users_search({"record_size": -1})] == [other_org.guid]
    assert status_of(lambda: v2.users_update(ts.guids["viewer"], {"display_name": "hijacked"})) == 404
    assert status_of(lambda: v2.users_reset_password(ts.guids["viewer"], "hijacked password")) == 404
    # and its credentials do not open this organization's users' sessions
    wrong_org = TSRestApiV2(server_url=ts.url)
    assert status_of(lambda: wrong_org.auth_token_full(other_org.email, PASSWORD, org_id=ts.org.id)) == 401
    try:
        ts.v1("admin").group_users_post(guid, [other_org.guid])
    except requests.HTTPError as exc:
        assert exc.response is not None and exc.response.status_code == 404
        assert exc.response.json()["error"]["code"] == "not_found"
    else:
        raise AssertionError("a user of another organization joined the group")
