"""`client.groups` and `client.shares` against a live server (sync and async)."""

from __future__ import annotations

import asyncio

import pytest

from openlytics.client import (
    AsyncClient,
    Grant,
    Group,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tests.client.conftest import SdkOrg


def test_groups_are_created_nested_and_filled(org: SdkOrg) -> None:
    groups = org.admin.groups
    outer = groups.create("Outer", display_name="Everyone", privileges=["DATADOWNLOADING"])
    inner = groups.create("Inner", visibility="NON_SHARABLE", description="a few")
    assert (
        isinstance(outer, Group)
        and outer.privileges == ["DATADOWNLOADING"]
        and outer.display_name == "Everyone"
    )
    assert inner.visibility == "NON_SHARABLE" and inner.author_id == org.user_ids["admin"]
    assert [g.name for g in org.viewer.groups.list()] == ["Inner", "Outer"]
    assert [g.id for g in org.viewer.groups.list(pattern="every")] == [outer.id]

    groups.set_member_groups(outer.id, [inner.id])
    groups.set_members(inner.id, [org.user_ids["viewer"], org.user_ids["editor"]], "ADD")
    groups.set_members(inner.id, [org.user_ids["editor"]], "REMOVE")
    assert [u.id for u in groups.members(inner.id)] == [org.user_ids["viewer"]]
    assert [g.id for g in groups.member_groups(outer.id)] == [inner.id]
    assert [g.id for g in groups.parent_groups(inner.id)] == [outer.id]
    with pytest.raises(ValidationError, match="cycle"):
        groups.set_member_groups(inner.id, [outer.id], "ADD")

    viewer = org.user_ids["viewer"]
    assert [g.id for g in org.viewer.groups.user_groups(viewer)] == [inner.id]
    assert [g.id for g in org.viewer.groups.user_groups(viewer, inherited=True)] == [outer.id]
    assert groups.set_privileges(outer.id, ["BYPASSRLS"], "ADD").privileges == [
        "BYPASSRLS",
        "DATADOWNLOADING",
    ]
    assert groups.privileges(outer.id) == ["BYPASSRLS", "DATADOWNLOADING"]
    assert org.viewer.groups.user_privileges(viewer) == ["AUTHORING", "BYPASSRLS", "DATADOWNLOADING"]
    groups.set_user_groups(viewer, [])
    assert org.viewer.groups.user_groups(viewer) == []

    assert groups.update(inner.id, name="Few", privileges=[]).name == "Few"
    with pytest.raises(PermissionDeniedError):
        org.editor.groups.create("Mine")
    groups.delete(inner.id)
    with pytest.raises(NotFoundError):
        groups.get(inner.id)


def test_shares_restrict_and_report_access(org: SdkOrg) -> None:
    query = org.editor.queries.create("shared", "SELECT 1 AS n")
    viewer = org.user_ids["viewer"]
    team = org.admin.groups.create("Readers")
    org.admin.groups.set_members(team.id, [viewer])

    assert org.viewer.shares.get("query", query.id).access == "READ_ONLY"
    shared = org.editor.shares.grant("query", query.id, groups=[team.id])
    assert shared.grants == [Grant("group", team.id, "READ_ONLY")]
    effective = org.admin.shares.get("query", query.id, effective=True)
    assert {(g.principal, g.id, g.mode) for g in effective.grants} == {
        ("user", org.user_ids["editor"], "MODIFY"),
        ("user", viewer, "READ_ONLY"),
        ("group", team.id, "READ_ONLY"),
    }
    assert org.viewer.shares.access({"query": [query.id]}) == {"query": {query.id: "READ_ONLY"}}
    assert [(o.kind, o.object_id, o.mode) for o in org.viewer.shares.shared_with(user_id=viewer)] == [
        ("query", query.id, "READ_ONLY")
    ]
    assert org.admin.shares.shared_with(group_id=team.id, kind="dashboard") == []
    with pytest.raises(PermissionDeniedError):
        org.viewer.shares.grant("query", query.id, users=[org.user_ids["editor"]])

    org.editor.shares.share(
        "query", query.id, [Grant("user", viewer, "MODIFY"), Grant("group", team.id, "NO_ACCESS")]
    )
    assert org.editor.shares.get("query", query.id).grants == [Grant("user", viewer, "MODIFY")]
    assert org.editor.shares.revoke("query", query.id, users=[viewer]).grants == []
    with pytest.raises(ValueError):
        org.viewer.shares.shared_with()


def test_the_async_client_mirrors_groups_and_shares(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["admin"]) as client:
            group = await client.groups.create("Async")
            await client.groups.set_members(group.id, [org.user_ids["viewer"]])
            assert [u.id for u in await client.groups.members(group.id)] == [org.user_ids["viewer"]]
            source = await anext(s async for s in client.data_sources.list())
            shares = await client.shares.grant("data_source", source.id, groups=[group.id], mode="MODIFY")
            assert shares.access == "MODIFY" and shares.grants == [Grant("group", group.id, "MODIFY")]

    asyncio.run(main())
