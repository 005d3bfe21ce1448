"""Sharing objects with users and groups, and who reaches what."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openlytics.client.models import Grant, ObjectShares, SharedObject

from .http import AsyncHTTP

# Kinds of objects that can be shared.
KINDS = ("query", "visualization", "dashboard", "dataset", "data_source", "pipeline_input")


class AsyncShares:
    """`client.shares`: an object nobody shared is open to its organization; once shared it reaches
    only its author, admins and the users and groups it is shared with (docs/governance.md)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def get(self, kind: str, object_id: int, *, effective: bool = False) -> ObjectShares:
        """The object's shares, or (`effective=True`) everyone it reaches: author and group members added."""
        params = {"type": "effective" if effective else "defined"}
        body = await self._http.request("GET", f"/shares/{kind}/{object_id}", params=params)
        return ObjectShares.from_json(body)

    async def share(self, kind: str, object_id: int, grants: Iterable[Grant]) -> ObjectShares:
        """Apply grants (a NO_ACCESS grant removes a share); all apply or none. The object's shares after."""
        body = {"grants": [g.to_json() for g in grants]}
        answer = await self._http.request("PUT", f"/shares/{kind}/{object_id}", json=body)
        return ObjectShares.from_json(answer)

    async def grant(
        self,
        kind: str,
        object_id: int,
        *,
        users: Iterable[int] = (),
        groups: Iterable[int] = (),
        mode: str = "READ_ONLY",
    ) -> ObjectShares:
        """Share the object with users and groups, READ_ONLY or MODIFY."""
        grants = [Grant("user", i, mode) for i in users] + [Grant("group", i, mode) for i in groups]
        return await self.share(kind, object_id, grants)

    async def revoke(
        self, kind: str, object_id: int, *, users: Iterable[int] = (), groups: Iterable[int] = ()
    ) -> ObjectShares:
        """Stop sharing the object with users and groups."""
        return await self.grant(kind, object_id, users=users, groups=groups, mode="NO_ACCESS")

    async def access(self, ids_by_kind: Mapping[str, Iterable[int]]) -> dict[str, dict[int, str]]:
        """Your access to many objects: `{kind: [ids]}` -> `{kind: {id: mode}}` (unknown ids: NO_ACCESS)."""
        body = {kind: list(ids) for kind, ids in ids_by_kind.items()}
        answer: dict[str, Any] = await self._http.request("POST", "/shares/access", json=body)
        return {kind: {int(i): mode for i, mode in modes.items()} for kind, modes in answer.items()}

    async def shared_with(
        self, *, user_id: int | None = None, group_id: int | None = None, kind: str | None = None
    ) -> list[SharedObject]:
        """What a user or a group reaches through shares (theirs and their groups')."""
        if (user_id is None) == (group_id is None):
            raise ValueError("give exactly one of user_id and group_id")
        params: dict[str, Any] = {"principal": "user" if user_id is not None else "group"}
        params["id"] = user_id if user_id is not None else group_id
        if kind is not None:
            params["kind"] = kind
        body = await self._http.request("GET", "/shares", params=params)
        return [SharedObject.from_json(item) for item in body.get("items") or []]
