"""Groups: CRUD, members, nesting without cycles, effective groups, privileges and row filters
(a real app on SQLite and PostgreSQL metadata)."""

from __future__ import annotations

import threading

import pytest

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.governance.privileges import parse_privileges
from openlytics.core.principal import Action, Principal, Role
from tests.core.governance.conftest import People, new_organization


def ids(items: list) -> list[int]:  # type: ignore[type-arg]
    return [item.id for item in items]


def test_group_crud_and_validation(org: People) -> None:
    groups = org.app.groups
    sales = groups.create(
        org.admin, " Sales ", display_name="Sales team", description="EU", privileges=["datadownloading"]
    )
    assert (sales.name, sales.display_name, sales.description) == ("Sales", "Sales team", "EU")
    assert (sales.privileges, sales.visibility, sales.author_id) == (
        ["DATADOWNLOADING"],
        "DEFAULT",
        org.admin.user_id,
    )
    audit = groups.create(org.admin, "Audit", visibility="NON_SHARABLE")
    assert audit.visibility == "NON_SHARABLE" and audit.privileges == []
    assert [g.name for g in groups.list(org.viewer)] == ["Audit", "Sales"]
    assert ids(groups.list(org.viewer, pattern="TEAM")) == [sales.id]  # display name, any case
    assert ids(groups.list(org.viewer, pattern="AU%t")) == [audit.id]
    assert groups.list(org.viewer, pattern="_") == []  # `_` is literal, not a wildcard
    for identifier in (str(sales.uuid), str(sales.id), "Sales"):
        assert groups.find(org.viewer, identifier).id == sales.id
    with pytest.raises(NotFoundError):
        groups.find(org.viewer, "nobody")

    with pytest.raises(ConflictError):
        groups.create(org.admin, "Sales")
    with pytest.raises(InvalidInputError, match="FLYING"):
        groups.create(org.admin, "Pilots", privileges=["FLYING"])
    with pytest.raises(InvalidInputError):
        groups.create(org.admin, "Pilots", visibility="SECRET")
    with pytest.raises(PermissionDeniedError):
        groups.create(org.editor, "Mine")

    changed = groups.update(
        org.admin,
        sales.id,
        name="Sales EU",
        display_name="EU",
        privileges=["BYPASSRLS"],
        visibility="SHARABLE",
    )
    assert (changed.name, changed.display_name, changed.privileges, changed.visibility) == (
        "Sales EU",
        "EU",
        ["BYPASSRLS"],
        "DEFAULT",
    )
    with pytest.raises(ConflictError):
        groups.update(org.admin, sales.id, name="Audit")
    groups.add_privilege(org.admin, [sales.id, audit.id], "DATAMANAGEMENT")
    assert groups.get(org.viewer, audit.id).privileges == ["DATAMANAGEMENT"]
    groups.remove_privilege(org.admin, [sales.id], "BYPASSRLS")
    assert groups.get(org.viewer, sales.id).privileges == ["DATAMANAGEMENT"]
    with pytest.raises(NotFoundError):  # all of them exist, or nothing changes
        groups.add_privilege(org.admin, [sales.id, 10**9], "AUTHORING")
    assert groups.get(org.viewer, sales.id).privileges == ["DATAMANAGEMENT"]

    groups.delete(org.admin, sales.id)
    with pytest.raises(NotFoundError):
        groups.get(org.admin, sales.id)


def test_parse_privileges_sorts_and_names_the_unknown_one() -> None:
    assert parse_privileges(["bypassrls", "AUTHORING", "BYPASSRLS"]) == ["AUTHORING", "BYPASSRLS"]
    with pytest.raises(InvalidInputError) as caught:
        parse_privileges(["AUTHORING", "ROOT"], "privilege")
    assert caught.value.field == "privilege" and "ROOT" in caught.value.reason


def test_members_are_added_removed_and_replaced(org: People) -> None:
    groups = org.app.groups
    group = groups.create(org.admin, "Readers")
    viewer, other, editor = org.viewer.user_id, org.other_viewer.user_id, org.editor.user_id
    assert viewer is not None and other is not None and editor is not None
    groups.set_members(org.admin, group.id, [viewer, other], "ADD")
    groups.set_members(org.admin, group.id, [viewer], "add")  # again: a no-op
    assert ids(groups.members(org.viewer, group.id)) == sorted([viewer, other])
    groups.set_members(org.admin, group.id, [other, 10**9], "REMOVE")  # not a member: ignored
    assert ids(groups.members(org.admin, group.id)) == [viewer]
    groups.set_members(org.admin, group.id, [editor])
    assert ids(groups.members(org.admin, group.id)) == [editor]
    with pytest.raises(NotFoundError):
        groups.set_members(org.admin, group.id, [viewer, 10**9], "ADD")
    assert ids(groups.members(org.admin, group.id)) == [editor]  # nothing changed
    with pytest.raises(InvalidInputError):
        groups.set_members(org.admin, group.id, [viewer], "MERGE")
    with pytest.raises(PermissionDeniedError):
        groups.set_members(org.editor, group.id, [viewer], "ADD")

    groups.set_user_groups(org.admin, viewer, [group.id], "ADD")
    assert ids(groups.user_groups(org.viewer, viewer)) == [group.id]
    groups.set_user_groups(org.admin, viewer, [])
    assert groups.user_groups(org.viewer, viewer) == []


def test_concurrent_nestings_never_make_a_cycle(org: People) -> None:
    groups = org.app.groups
    for round_ in range(6):
        a, b = (groups.create(org.admin, f"{name}{round_}") for name in ("A", "B"))
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def nest(parent: int, member: int) -> None:
            barrier.wait()
            try:
                groups.set_member_groups(org.admin, parent, [member], "ADD")
                outcomes.append("nested")
            except InvalidInputError:
                outcomes.append("refused")

        threads = [threading.Thread(target=nest, args=pair) for pair in ((a.id, b.id), (b.id, a.id))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["nested", "refused"]


def test_nesting_is_listed_both_ways_and_a_cycle_is_refused(org: People) -> None:
    groups = org.app.groups
    a, b, c = (groups.create(org.admin, name) for name in ("A", "B", "C"))
    groups.set_member_groups(org.admin, a.id, [b.id])
    groups.set_member_groups(org.admin, b.id, [c.id], "ADD")
    assert ids(groups.member_groups(org.viewer, a.id)) == [b.id]
    assert ids(groups.parent_groups(org.viewer, c.id)) == [b.id]
    for parent, member in ((c.id, a.id), (c.id, b.id), (a.id, a.id)):
        with pytest.raises(InvalidInputError, match="cycle"):
            groups.set_member_groups(org.admin, parent, [member], "ADD")
    assert groups.member_groups(org.admin, c.id) == []
    groups.set_member_groups(org.admin, a.id, [c.id], "ADD")  # a second path is no cycle
    assert ids(groups.member_groups(org.admin, a.id)) == [b.id, c.id]
    groups.set_member_groups(org.admin, a.id, [b.id], "REMOVE")
    assert ids(groups.member_groups(org.admin, a.id)) == [c.id]
    with pytest.raises(NotFoundError):
        groups.set_member_groups(org.admin, a.id, [10**9], "ADD")

    groups.delete(org.admin, c.id)  # its nesting rows go with it
    assert groups.member_groups(org.admin, a.id) == []
    assert groups.member_groups(org.admin, b.id) == []


def test_effective_groups_reach_three_levels_up(org: People) -> None:
    groups = org.app.groups
    top, upper, middle, bottom = (groups.create(org.admin, n) for n in ("Top", "Upper", "Middle", "Bottom"))
    groups.set_member_groups(org.admin, top.id, [upper.id])
    groups.set_member_groups(org.admin, upper.id, [middle.id])
    groups.set_member_groups(org.admin, middle.id, [bottom.id])
    viewer = org.viewer.user_id
    assert viewer is not None
    groups.set_members(org.admin, bottom.id, [viewer])

    assert ids(groups.user_groups(org.admin, viewer)) == [bottom.id]
    assert ids(groups.inherited_groups(org.admin, viewer)) == [middle.id, top.id, upper.id]
    assert org.again(org.viewer).team_ids == {top.id, upper.id, middle.id, bottom.id}
    assert org.again(org.other_viewer).team_ids == frozenset()


def test_privileges_of_groups_are_granted_to_their_members_through_nesting(org: People) -> None:
    groups = org.app.groups
    viewer = org.viewer.user_id
    assert viewer is not None
    assert groups.effective_privileges(org.viewer, viewer) == ["AUTHORING", "DATADOWNLOADING"]
    assert not org.viewer.can(Action.WRITE)

    data = groups.create(org.admin, "Data", privileges=["DATAMANAGEMENT", "JOBSCHEDULING"])
    analysts = groups.create(org.admin, "Analysts")
    groups.set_member_groups(org.admin, data.id, [analysts.id])
    groups.set_members(org.admin, analysts.id, [viewer])
    granted = org.again(org.viewer)
    assert granted.granted == {Action.MANAGE_SOURCES, Action.WRITE, Action.RUN_ADHOC, Action.PUSH_ROWS}
    assert granted.can(Action.WRITE) and granted.can(Action.MANAGE_SOURCES)
    assert not granted.can(Action.MANAGE_USERS)
    assert groups.effective_privileges(org.admin, viewer) == [
        "AUTHORING",
        "DATADOWNLOADING",
        "DATAMANAGEMENT",
        "JOBSCHEDULING",
    ]
    # What the privilege grants works: the viewer now creates a query.
    query = org.app.queries.create(granted, name="mine", sql="SELECT 1")
    assert query.user_id == viewer

    groups.add_privilege(org.admin, [analysts.id], "ADMINISTRATION")
    boss = org.again(org.viewer)
    assert boss.can(Action.MANAGE_USERS) and not boss.can(Action.MANAGE_ORGS)
    groups.create(boss, "Made by a member with ADMINISTRATION")

    # Granted actions never extend scoped credentials.
    key = Principal(org.admin.org_id, None, Role.VIEWER, "query_key", query_scope=1, granted=boss.granted)
    assert not key.can(Action.WRITE)
    public = Principal(org.admin.org_id, None, Role.VIEWER, "public_link", granted=boss.granted)
    assert not public.can(Action.WRITE)

    groups.set_members(org.admin, analysts.id, [])
    assert org.again(org.viewer).granted == frozenset()


def test_bypassrls_skips_team_row_filters_and_nested_parameters_apply(org: People) -> None:
    app, groups = org.app, org.app.groups
    columns = [{"name": "id", "type": "int64"}, {"name": "region", "type": "string"}]
    dataset = app.datasets.create(org.editor, name="regions", columns=columns, primary_key=["id"])
    rows = [{"id": 1, "region": "EU"}, {"id": 2, "region": "US"}, {"id": 3, "region": "EU"}]
    app.datasets.append(org.editor, dataset.id, LoadSource.from_rows(rows))

    def regions(principal: Principal) -> list[str]:
        table = app.datasets.read(principal, dataset.id).read_all()
        return sorted(table.column("region").to_pylist())

    viewer = org.viewer.user_id
    assert viewer is not None
    europe = app.teams.create(org.admin, name="Europe", parameters={"region": ["EU"]})
    staff = groups.create(org.admin, "Staff")
    groups.set_member_groups(org.admin, europe.id, [staff.id])
    groups.set_members(org.admin, staff.id, [viewer])
    # The viewer is in Europe through Staff: Europe's parameters filter what they read.
    assert regions(org.again(org.viewer)) == ["EU", "EU"]

    unfiltered = groups.create(org.admin, "Unfiltered", privileges=["BYPASSRLS"])
    groups.set_user_groups(org.admin, viewer, [unfiltered.id], "ADD")
    bypassing = org.again(org.viewer)
    assert bypassing.can(Action.BYPASS_ROW_FILTERS)
    assert app.teams.row_filters(bypassing, dataset) == []
    assert regions(bypassing) == ["EU", "EU", "US"]


def test_another_organization_sees_and_changes_none_of_the_groups(app: Openlytics, org: People) -> None:
    groups = org.app.groups
    mine = groups.create(org.admin, "Mine")
    other = new_organization(app)
    theirs = groups.create(other.admin, "Theirs")
    assert ids(groups.list(other.admin)) == [theirs.id]
    viewer = org.viewer.user_id
    assert viewer is not None and other.viewer.user_id is not None
    for attempt in (
        lambda: groups.get(other.admin, mine.id),
        lambda: groups.find(other.admin, str(mine.uuid)),
        lambda: groups.find(other.admin, "Mine"),
        lambda: groups.update(other.admin, mine.id, name="Stolen"),
        lambda: groups.delete(other.admin, mine.id),
        lambda: groups.members(other.admin, mine.id),
        lambda: groups.set_members(other.admin, mine.id, [other.viewer.user_id]),
        lambda: groups.set_members(other.admin, theirs.id, [viewer], "ADD"),
        lambda: groups.set_member_groups(other.admin, theirs.id, [mine.id], "ADD"),
        lambda: groups.set_member_groups(other.admin, mine.id, [theirs.id], "ADD"),
        lambda: groups.add_privilege(other.admin, [mine.id], "ADMINISTRATION"),
        lambda: groups.user_groups(other.admin, viewer),
        lambda: groups.set_user_groups(other.admin, viewer, [theirs.id]),
        lambda: groups.effective_privileges(other.admin, viewer),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    assert groups.get(org.admin, mine.id).privileges == []
    assert groups.members(org.admin, mine.id) == [] and groups.member_groups(other.admin, theirs.id) == []
