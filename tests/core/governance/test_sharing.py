"""Sharing: unshared objects are open, shared ones reach only author, admins and grantees (directly
or through nested groups); modes, removal, validation and bulk access (a real app, both backends)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.principal import Principal
from tests.core.governance.conftest import People, new_organization


@dataclass
class Objects:
    """One object of each kind; the editor authored the query, chart, dashboard and dataset."""

    query: int
    visualization: int
    dashboard: int
    dataset: int
    data_source: int


@pytest.fixture
def objects(org: People) -> Objects:
    app = org.app
    query = app.queries.create(org.editor, name="sales", sql="SELECT 1 AS n")
    chart = app.visualizations.create(org.editor, query_id=query.id, type="TABLE", name="table")
    board = app.dashboards.create(org.editor, name="board")
    dataset = app.datasets.create(org.editor, name="shared_ds", columns=[{"name": "id", "type": "int64"}])
    return Objects(query.id, chart.id, board.id, dataset.id, app.sources.default(org.admin).id)


def uid(principal: Principal) -> int:
    assert principal.user_id is not None
    return principal.user_id


def test_an_unshared_object_is_open_to_its_organization(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    other_editor = org.user("editor2", "editor")
    assert sharing.access(org.viewer, "query", objects.query) == "READ_ONLY"
    assert sharing.access(other_editor, "query", objects.query) == "MODIFY"
    assert sharing.access(org.admin, "query", objects.query) == "MODIFY"
    assert sharing.defined(org.viewer, "query", objects.query) == {}
    assert sharing.effective(org.viewer, "query", objects.query) == {("user", uid(org.editor)): "MODIFY"}
    sharing.require(org.viewer, "query", objects.query)
    with pytest.raises(PermissionDeniedError):
        sharing.require(org.viewer, "query", objects.query, "MODIFY")


def test_sharing_restricts_an_object_to_its_author_admins_and_grantees(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    other_editor = org.user("editor2", "editor")
    sharing.share(org.editor, "query", [objects.query], {("user", uid(org.viewer)): "READ_ONLY"})
    assert sharing.defined(org.admin, "query", objects.query) == {("user", uid(org.viewer)): "READ_ONLY"}
    assert sharing.access(org.viewer, "query", objects.query) == "READ_ONLY"
    assert sharing.access(org.editor, "query", objects.query) == "MODIFY"  # the author
    assert sharing.access(org.admin, "query", objects.query) == "MODIFY"
    assert sharing.access(org.other_viewer, "query", objects.query) == "NO_ACCESS"
    assert sharing.access(other_editor, "query", objects.query) == "NO_ACCESS"
    with pytest.raises(NotFoundError):
        sharing.require(org.other_viewer, "query", objects.query)
    with pytest.raises(NotFoundError):
        sharing.defined(org.other_viewer, "query", objects.query)
    with pytest.raises(NotFoundError):  # may not see it, so may not share it
        sharing.share(other_editor, "query", [objects.query], {("user", uid(other_editor)): "MODIFY"})
    assert sharing.visible_ids(org.other_viewer, "query", [objects.query, 10**9]) == set()
    assert sharing.visible_ids(org.viewer, "query", [objects.query, 10**9]) == {objects.query}
    # Only the query was shared: the dashboard stays open.
    assert sharing.access(org.other_viewer, "dashboard", objects.dashboard) == "READ_ONLY"


def test_a_group_share_reaches_the_members_of_nested_groups(org: People, objects: Objects) -> None:
    groups, sharing = org.app.groups, org.app.sharing
    outer, inner = groups.create(org.admin, "Outer"), groups.create(org.admin, "Inner")
    groups.set_member_groups(org.admin, outer.id, [inner.id])
    groups.set_members(org.admin, inner.id, [uid(org.other_viewer)])
    sharing.share(org.editor, "dashboard", [objects.dashboard], {("group", outer.id): "READ_ONLY"})
    assert sharing.access(org.other_viewer, "dashboard", objects.dashboard) == "READ_ONLY"
    assert sharing.access(org.viewer, "dashboard", objects.dashboard) == "NO_ACCESS"
    assert sharing.effective(org.admin, "dashboard", objects.dashboard) == {
        ("team", outer.id): "READ_ONLY",
        ("user", uid(org.other_viewer)): "READ_ONLY",
        ("user", uid(org.editor)): "MODIFY",
    }
    assert sharing.shared_with(org.other_viewer, ("user", uid(org.other_viewer))) == [
        ("dashboard", objects.dashboard, "READ_ONLY")
    ]
    assert sharing.shared_with(org.admin, ("team", inner.id), "dashboard") == [
        ("dashboard", objects.dashboard, "READ_ONLY")
    ]
    assert sharing.shared_with(org.admin, ("team", inner.id), "query") == []
    with pytest.raises(PermissionDeniedError):  # what others reach is for admins
        sharing.shared_with(org.viewer, ("user", uid(org.other_viewer)))

    groups.set_member_groups(org.admin, outer.id, [inner.id], "REMOVE")
    assert sharing.access(org.other_viewer, "dashboard", objects.dashboard) == "NO_ACCESS"


def test_modify_lets_grantees_change_and_share_when_their_role_writes(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    other_editor = org.user("editor2", "editor")
    grants = {("user", uid(other_editor)): "MODIFY", ("user", uid(org.viewer)): "MODIFY"}
    sharing.share(org.editor, "dataset", [objects.dataset], grants)
    assert sharing.access(other_editor, "dataset", objects.dataset) == "MODIFY"
    sharing.require(other_editor, "dataset", objects.dataset, "MODIFY")
    # A viewer's role does not write: a MODIFY share reads.
    assert sharing.access(org.viewer, "dataset", objects.dataset) == "READ_ONLY"
    with pytest.raises(PermissionDeniedError):
        sharing.require(org.viewer, "dataset", objects.dataset, "MODIFY")
    with pytest.raises(PermissionDeniedError):
        sharing.share(
            org.viewer, "dataset", [objects.dataset], {("user", uid(org.other_viewer)): "READ_ONLY"}
        )
    sharing.share(other_editor, "dataset", [objects.dataset], {("user", uid(org.other_viewer)): "READ_ONLY"})
    assert sharing.access(org.other_viewer, "dataset", objects.dataset) == "READ_ONLY"
    sharing.share(org.editor, "dataset", [objects.dataset], {("user", uid(other_editor)): "read_only"})
    assert sharing.access(other_editor, "dataset", objects.dataset) == "READ_ONLY"


def test_no_access_removes_a_share(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    both = {("user", uid(org.viewer)): "READ_ONLY", ("user", uid(org.other_viewer)): "READ_ONLY"}
    sharing.share(org.editor, "query", [objects.query], both)
    sharing.share(org.editor, "query", [objects.query], {("user", uid(org.viewer)): "NO_ACCESS"})
    assert sharing.defined(org.editor, "query", objects.query) == {
        ("user", uid(org.other_viewer)): "READ_ONLY"
    }
    assert sharing.access(org.viewer, "query", objects.query) == "NO_ACCESS"
    # With no share left the query is open to the organization again.
    sharing.share(org.editor, "query", [objects.query], {("user", uid(org.other_viewer)): "NO_ACCESS"})
    assert sharing.defined(org.editor, "query", objects.query) == {}
    assert sharing.access(org.viewer, "query", objects.query) == "READ_ONLY"


def test_the_author_and_admins_always_reach_a_shared_object(org: People, objects: Objects) -> None:
    groups, sharing = org.app.groups, org.app.sharing
    sharing.share(
        org.admin, "visualization", [objects.visualization], {("user", uid(org.viewer)): "READ_ONLY"}
    )
    # A visualization's author is its query's author.
    assert sharing.access(org.editor, "visualization", objects.visualization) == "MODIFY"
    assert sharing.access(org.admin, "visualization", objects.visualization) == "MODIFY"
    assert sharing.access(org.other_viewer, "visualization", objects.visualization) == "NO_ACCESS"
    admins = groups.create(org.admin, "Admins", privileges=["ADMINISTRATION"])
    groups.set_members(org.admin, admins.id, [uid(org.other_viewer)])
    promoted = org.again(org.other_viewer)
    assert sharing.access(promoted, "visualization", objects.visualization) == "MODIFY"


def test_data_sources_are_modified_by_those_who_manage_sources(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    assert sharing.access(org.editor, "data_source", objects.data_source) == "READ_ONLY"
    assert sharing.access(org.admin, "data_source", objects.data_source) == "MODIFY"
    with pytest.raises(PermissionDeniedError):
        sharing.share(
            org.editor, "data_source", [objects.data_source], {("user", uid(org.viewer)): "READ_ONLY"}
        )
    sharing.share(org.admin, "data_source", [objects.data_source], {("user", uid(org.viewer)): "MODIFY"})
    assert sharing.access(org.viewer, "data_source", objects.data_source) == "READ_ONLY"
    assert sharing.access(org.editor, "data_source", objects.data_source) == "NO_ACCESS"
    assert sharing.effective(org.admin, "data_source", objects.data_source) == {
        ("user", uid(org.viewer)): "MODIFY"
    }


def test_a_grantee_of_another_organization_is_refused_and_nothing_changes(
    app: Openlytics, org: People, objects: Objects
) -> None:
    sharing = org.app.sharing
    other = new_organization(app)
    foreign_group = app.groups.create(other.admin, "Foreign")
    for foreign in (("user", uid(other.viewer)), ("team", foreign_group.id)):
        grants = {("user", uid(org.viewer)): "READ_ONLY", foreign: "READ_ONLY"}
        with pytest.raises(NotFoundError):
            sharing.share(org.editor, "query", [objects.query], grants)
    assert sharing.defined(org.editor, "query", objects.query) == {}
    # Nor does the other organization see, share or bulk-read this one's objects.
    with pytest.raises(NotFoundError):
        sharing.access(other.admin, "query", objects.query)
    with pytest.raises(NotFoundError):
        sharing.share(other.admin, "query", [objects.query], {("user", uid(other.viewer)): "READ_ONLY"})
    assert sharing.bulk_access(other.admin, {"query": [objects.query]}) == {
        "query": {objects.query: "NO_ACCESS"}
    }


def test_a_non_sharable_group_cannot_be_a_grantee(org: People, objects: Objects) -> None:
    groups, sharing = org.app.groups, org.app.sharing
    closed = groups.create(org.admin, "Closed", visibility="NON_SHARABLE")
    grants = {("user", uid(org.viewer)): "READ_ONLY", ("team", closed.id): "READ_ONLY"}
    with pytest.raises(InvalidInputError, match="NON_SHARABLE"):
        sharing.share(org.editor, "dashboard", [objects.dashboard], grants)
    assert sharing.defined(org.editor, "dashboard", objects.dashboard) == {}
    sharing.share(org.editor, "dashboard", [objects.dashboard], {("team", closed.id): "NO_ACCESS"})  # fine


def test_bad_kinds_modes_and_references_are_invalid_input(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    with pytest.raises(InvalidInputError):
        sharing.access(org.viewer, "spreadsheet", 1)
    with pytest.raises(InvalidInputError):
        sharing.share(org.editor, "query", [objects.query], {("user", uid(org.viewer)): "OWNER"})
    with pytest.raises(InvalidInputError):
        sharing.share(org.editor, "query", [objects.query], {("role", 1): "READ_ONLY"})
    with pytest.raises(NotFoundError):
        sharing.access(org.viewer, "query", 10**9)


def test_bulk_access_answers_for_many_objects_at_once(org: People, objects: Objects) -> None:
    sharing = org.app.sharing
    sharing.share(org.editor, "query", [objects.query], {("user", uid(org.other_viewer)): "READ_ONLY"})
    asked = {"query": [objects.query, 10**9], "dashboard": [objects.dashboard], "dataset": []}
    assert sharing.bulk_access(org.viewer, asked) == {
        "query": {objects.query: "NO_ACCESS", 10**9: "NO_ACCESS"},
        "dashboard": {objects.dashboard: "READ_ONLY"},
        "dataset": {},
    }
    assert sharing.bulk_access(org.editor, asked)["query"][objects.query] == "MODIFY"


def test_deleting_a_group_or_a_user_deletes_what_was_shared_with_them(org: People, objects: Objects) -> None:
    app, sharing = org.app, org.app.sharing
    group, team = app.groups.create(org.admin, "Going"), app.teams.create(org.admin, name="Also going")
    grants = {
        ("team", group.id): "READ_ONLY",
        ("team", team.id): "MODIFY",
        ("user", uid(org.viewer)): "READ_ONLY",
    }
    sharing.share(org.editor, "query", [objects.query], grants)
    app.groups.delete(org.admin, group.id)
    app.teams.delete(org.admin, team.id)
    assert sharing.defined(org.editor, "query", objects.query) == {("user", uid(org.viewer)): "READ_ONLY"}
    app.identity.delete_user(org.admin, uid(org.viewer))
    assert sharing.defined(org.editor, "query", objects.query) == {}


def test_a_new_object_never_inherits_the_shares_of_a_deleted_one(org: People, objects: Objects) -> None:
    app, sharing = org.app, org.app.sharing
    doomed = app.visualizations.create(org.editor, query_id=objects.query, type="TABLE", name="doomed")
    sharing.share(org.editor, "visualization", [doomed.id], {("user", uid(org.viewer)): "READ_ONLY"})
    app.visualizations.delete(org.editor, doomed.id)
    assert sharing.shared_with(org.viewer, ("user", uid(org.viewer))) == []
    # SQLite gives the next row the id of the deleted last one; its shares must not carry over.
    fresh = app.visualizations.create(org.editor, query_id=objects.query, type="TABLE", name="fresh")
    assert sharing.defined(org.editor, "visualization", fresh.id) == {}
    assert sharing.access(org.other_viewer, "visualization", fresh.id) == "READ_ONLY"
    sharing.share(org.editor, "visualization", [fresh.id], {("user", uid(org.viewer)): "MODIFY"})
    assert sharing.defined(org.editor, "visualization", fresh.id) == {("user", uid(org.viewer)): "MODIFY"}
