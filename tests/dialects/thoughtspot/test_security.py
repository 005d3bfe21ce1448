"""V1 `security/...` and V2 `security/*/fetch-permissions`, through the real client."""

from __future__ import annotations

from thoughtspot_rest_api_v1 import ShareModes, TSRestApiV1

from tests.dialects.thoughtspot.conftest import OtherOrg, ThoughtSpot, status_of
from tests.dialects.thoughtspot.test_metadata import MISSING, make_objects

V1_PATH = "/callosum/v1/tspublic/v1/"
LIVEBOARD = "PINBOARD_ANSWER_BOOK"


def share(v1: TSRestApiV1, guid: str, principal: str, mode: str) -> bool:
    return v1.security_share(LIVEBOARD, [guid], {"permissions": {principal: {"shareMode": mode}}})


def test_sharing_a_liveboard_with_a_group(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    admin = ts.v1("admin")
    group = admin.group_post("readers", "Readers", None)["header"]["id"]
    admin.group_users_post(group, [ts.guids["viewer"]])
    editor = ts.v1("editor")
    permissions = editor.create_share_permissions(read_only_users_or_groups_guids=[group])
    assert editor.security_share(LIVEBOARD, [made.board], permissions) is True

    effective = editor.security_metadata_permissions(LIVEBOARD, [made.board])[made.board]["permissions"]
    assert effective[ts.guids["viewer"]]["shareMode"] == "READ_ONLY"
    assert effective[ts.guids["editor"]]["shareMode"] == "MODIFY"  # the author
    assert effective[group] == {"shareMode": "READ_ONLY", "principalType": "USER_GROUP"}
    assert ts.guids["admin"] not in effective
    defined = editor.security_metadata_permissions(LIVEBOARD, [made.board], permission_type="DEFINED")
    assert defined == {
        made.board: {"permissions": {group: {"shareMode": "READ_ONLY", "principalType": "USER_GROUP"}}}
    }
    by_id = editor.security_metadata_permissions_by_id(LIVEBOARD, made.board, permission_type="DEFINED")
    assert by_id == defined[made.board]

    viewer_access = ts.v1("viewer").security_effectivepermissionbulk({LIVEBOARD: [made.board]})
    assert viewer_access == {LIVEBOARD: {made.board: {"shareMode": "READ_ONLY"}}}
    # The group's share restricts a liveboard: the editor, outside the group and not its author,
    # no longer reaches the admin's liveboard.
    other = make_objects(ts.org.admin, " admin")
    assert share(admin, other.board, group, ShareModes.READ_ONLY)
    editor_access = editor.security_effectivepermissionbulk({LIVEBOARD: [other.board, MISSING]})
    assert editor_access == {
        LIVEBOARD: {other.board: {"shareMode": "NO_ACCESS"}, MISSING: {"shareMode": "NO_ACCESS"}}
    }
    assert other.board not in [h["id"] for h in editor.metadata_listobjectheaders(LIVEBOARD)]
    assert status_of(lambda: editor.metadata_details(LIVEBOARD, [other.board])) == 404

    assert share(editor, made.board, group, ShareModes.NO_ACCESS)
    assert editor.security_metadata_permissions(LIVEBOARD, [made.board], permission_type="DEFINED") == {
        made.board: {"permissions": {}}
    }
    assert share(admin, other.board, group, ShareModes.NO_ACCESS)
    assert editor.security_effectivepermissionbulk({LIVEBOARD: [other.board]}) == {
        LIVEBOARD: {other.board: {"shareMode": "MODIFY"}}
    }


def test_share_refusals_change_nothing(ts: ThoughtSpot, other_org: OtherOrg) -> None:
    made = make_objects(ts.org.editor)
    admin = ts.v1("admin")
    assert status_of(lambda: share(admin, made.board, other_org.guid, "READ_ONLY")) == 404
    assert status_of(lambda: share(admin, MISSING, ts.guids["viewer"], "READ_ONLY")) == 404
    assert status_of(lambda: share(admin, made.board, ts.guids["viewer"], "OWNER")) == 400
    assert admin.security_metadata_permissions(LIVEBOARD, [made.board], permission_type="DEFINED") == {
        made.board: {"permissions": {}}
    }
    bad = admin.requests_session.post(
        f"{ts.url}{V1_PATH}security/share",
        data={"type": LIVEBOARD, "id": f'["{made.board}"]', "permission": "{oops"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "permission"
    bad_ids = admin.requests_session.post(
        f"{ts.url}{V1_PATH}security/effectivepermissionbulk", data={"idsbytype": "[1,"}
    )
    assert bad_ids.status_code == 400 and "idsbytype" in bad_ids.text
    # A viewer cannot share what it may not modify.
    assert status_of(lambda: share(ts.v1("viewer"), made.board, ts.guids["viewer"], "MODIFY")) == 403
    # The other organization's admin does not see this liveboard at all.
    theirs = TSRestApiV1(server_url=ts.url)
    theirs.session_login(username=other_org.email, password="correct horse battery")
    assert status_of(lambda: share(theirs, made.board, other_org.guid, "READ_ONLY")) == 404
    assert status_of(lambda: theirs.security_metadata_permissions(LIVEBOARD, [made.board])) == 404


def test_shareviz_shares_one_visualization(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    editor = ts.v1("editor")
    assert editor.security_shareviz(LIVEBOARD, made.board, made.viz, [ts.guids["viewer"]]) is True
    shares = ts.org.admin.get(f"/api/v1/shares?principal=user&id={ts.org.viewer_user_id}").json()["items"]
    assert [(s["kind"], s["mode"]) for s in shares] == [("visualization", "READ_ONLY")]
    assert (
        status_of(lambda: editor.security_shareviz(LIVEBOARD, made.board, MISSING, [ts.guids["viewer"]]))
        == 404
    )
    assert (
        status_of(lambda: editor.security_shareviz(LIVEBOARD, MISSING, made.viz, [ts.guids["viewer"]])) == 404
    )


def test_v2_fetch_permissions(ts: ThoughtSpot) -> None:
    made = make_objects(ts.org.editor)
    admin = ts.v1("admin")
    group = admin.group_post("readers", "Readers", None)["header"]["id"]
    admin.group_users_post(group, [ts.guids["viewer"]])
    assert share(admin, made.board, group, "READ_ONLY")
    v2 = ts.v2("admin")
    by_object = v2.security_metadata_fetch_permissions(
        {"metadata": [{"type": "LIVEBOARD", "identifier": made.board}], "permission_type": "DEFINED"},
    )
    detail = by_object["metadata_permission_details"][made.board]
    assert detail["metadata_type"] == "LIVEBOARD" and detail["metadata_name"] == "Board"
    groups = {i["principal_type"]: i["principal_permissions"] for i in detail["principal_permission_info"]}
    assert [(p["principal_id"], p["permission"]) for p in groups["USER_GROUP"]] == [(group, "READ_ONLY")]
    assert groups["USER"] == []

    by_principal = v2.post_request(
        "security/principals/fetch-permissions",
        {"principals": [{"type": "USER_GROUP", "identifier": "readers"}]},
    )
    (found,) = by_principal["principal_permission_details"]
    assert found["principal_id"] == group and found["principal_type"] == "USER_GROUP"
    assert found["metadata_permission_info"] == [
        {
            "metadata_type": "LIVEBOARD",
            "metadata_permissions": [
                {
                    "metadata_id": made.board,
                    "metadata_name": "Board",
                    "metadata_type": "LIVEBOARD",
                    "permission": "READ_ONLY",
                }
            ],
        }
    ]
    v2 = ts.v2("viewer")
    viewer = v2.security_principals_fetch_permissions({"principals": [{"identifier": ts.guids["viewer"]}]})
    assert (
        viewer["principal_permission_details"][0]["metadata_permission_info"][0]["metadata_permissions"][0][
            "metadata_id"
        ]
        == made.board
    )
    missing = ts.v2("admin").requests_session.post(
        f"{ts.url}/api/rest/2.0/security/metadata/fetch-permissions",
        json={"metadata": [{"identifier": MISSING}]},
    )
    assert missing.status_code == 404
