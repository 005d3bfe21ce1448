"""V1 `user/sync`: a full sync of users and groups from a principals file, through the real client."""

from __future__ import annotations

import json
from typing import Any

from thoughtspot_rest_api_v1 import TSRestApiV1

from tests.dialects.thoughtspot.conftest import PASSWORD, ThoughtSpot, status_of

NEW_PASSWORD = "a new user's password"


def group(name: str, *, display: str | None = None, inside: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "name": name,
        "displayName": display or name,
        "principalTypeEnum": "LOCAL_GROUP",
        "groupNames": list(inside),
        "visibility": "DEFAULT",
    }


def user(email: str, *, display: str | None = None, inside: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "name": email,
        "displayName": display or email.split("@")[0],
        "mail": email,
        "principalTypeEnum": "LOCAL_USER",
        "groupNames": list(inside),
    }


def state(v1: TSRestApiV1) -> tuple[set[str], set[str]]:
    """User names and group names of the organization."""
    return {u["header"]["name"] for u in v1.user_get()}, {g["header"]["name"] for g in v1.group_get()}


def test_a_full_sync_creates_nests_and_assigns_and_a_dry_run_changes_nothing(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    ann = f"ann@{ts.emails['admin'].split('@')[1]}"
    principals = [
        group("Sales", display="Sales team"),
        group("EMEA", inside=("Sales",)),
        user(ann, display="Ann", inside=("EMEA",)),
        user(ts.emails["viewer"], inside=("Sales",)),
    ]
    before = state(v1)
    dry = v1.user_sync(json.dumps(principals), password=NEW_PASSWORD, apply_changes=False)
    assert dry == {
        "usersAdded": [ann],
        "usersDeleted": [],
        "usersUpdated": [ts.emails["viewer"]],
        "groupsAdded": ["Sales", "EMEA"],
        "groupsDeleted": [],
        "groupsUpdated": [],
    }
    assert state(v1) == before  # nothing applied

    applied = v1.user_sync(json.dumps(principals), password=NEW_PASSWORD, apply_changes=True)
    assert applied == dry
    users, groups = state(v1)
    assert ann in users and {"Sales", "EMEA"} <= groups
    sales = v1.group_get(name="Sales")
    assert sales["header"]["displayName"] == "Sales team"
    emea = v1.group_get(name="EMEA")
    inside_sales = v1.requests_session.get(
        f"{ts.url}/callosum/v1/tspublic/v1/group/{sales['header']['id']}/groups"
    ).json()
    assert [g["name"] for g in inside_sales] == ["EMEA"]
    ann_object = v1.user_get(name=ann)
    assert [g["name"] for g in v1.user_groups_get(ann_object["header"]["id"])] == ["EMEA"]
    # Ann is in Sales through EMEA; the new user signs in with the sync's password.
    assert ann_object["assignedGroups"] == [emea["header"]["id"]]
    assert ann_object["inheritedGroups"] == [sales["header"]["id"]]
    assert TSRestApiV1(server_url=ts.url).session_login(username=ann, password=NEW_PASSWORD) is True

    again = v1.user_sync(json.dumps(principals), password=NEW_PASSWORD, apply_changes=True)
    assert again == {key: [] for key in dry}  # already in sync


def test_remove_delete_drops_what_the_file_leaves_out_but_never_the_caller(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    v1.user_sync(json.dumps([group("Old"), group("Kept")]), password=NEW_PASSWORD, apply_changes=True)
    principals = [group("Kept"), user(ts.emails["editor"], display="editor", inside=("Kept",))]
    result = v1.user_sync(
        json.dumps(principals), password=NEW_PASSWORD, apply_changes=True, remove_deleted=True
    )
    assert result["usersDeleted"] == [ts.emails["viewer"]]
    assert result["groupsDeleted"] == ["Old"]
    users, groups = state(v1)
    assert users == {ts.emails["admin"], ts.emails["editor"]} and groups == {"Kept"}


def test_a_bad_file_changes_nothing(ts: ThoughtSpot) -> None:
    v1 = ts.v1("admin")
    before = state(v1)
    cycle = [group("A", inside=("B",)), group("B", inside=("A",))]
    assert (
        status_of(lambda: v1.user_sync(json.dumps(cycle), password=NEW_PASSWORD, apply_changes=True)) == 400
    )
    unknown_group = [group("C"), user("bob@example.test", inside=("Nope",))]
    assert (
        status_of(lambda: v1.user_sync(json.dumps(unknown_group), password=NEW_PASSWORD, apply_changes=True))
        == 400
    )
    not_json = v1.requests_session.post(
        f"{ts.url}/callosum/v1/tspublic/v1/user/sync",
        files={"principals": ("principals.json", "[not json", "application/json"), "applyChanges": "true"},
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_input"
    assert state(v1) == before
    # Only admins sync.
    assert status_of(lambda: ts.v1("editor").user_sync(json.dumps([group("X")]), password=PASSWORD)) == 403
