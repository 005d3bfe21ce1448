# Generated from _async/groups.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Groups: privileges, members, nested groups, and the groups and privileges of a user."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from openlytics.client.models import Group, User

from .http import HTTP


class Groups:
    """`client.groups`: the organization's groups (admins manage them; see docs/governance.md).

    Methods that change a list take an `operation`: "REPLACE" (the default), "ADD" or "REMOVE".
    """

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self, pattern: str | None = None) -> builtins.list[Group]:
        """The organization's groups by name; `pattern` matches part of the name or display name."""
        params = {"pattern": pattern} if pattern else None
        body = self._http.request("GET", "/groups", params=params)
        return [Group.from_json(item) for item in body.get("items") or []]

    def get(self, group_id: int) -> Group:
        """One group."""
        return Group.from_json(self._http.request("GET", f"/groups/{group_id}"))

    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        privileges: Iterable[str] = (),
        visibility: str = "DEFAULT",
    ) -> Group:
        """A new group; `visibility` "NON_SHARABLE" means nothing can be shared with it."""
        body: dict[str, Any] = {"name": name, "privileges": list(privileges), "visibility": visibility}
        if display_name is not None:
            body["display_name"] = display_name
        if description is not None:
            body["description"] = description
        return Group.from_json(self._http.request("POST", "/groups", json=body))

    def update(
        self,
        group_id: int,
        *,
        name: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        privileges: Iterable[str] | None = None,
        visibility: str | None = None,
    ) -> Group:
        """Change what is given; `privileges` replaces the whole list."""
        fields = {
            "name": name,
            "display_name": display_name,
            "description": description,
            "visibility": visibility,
        }
        body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        if privileges is not None:
            body["privileges"] = list(privileges)
        return Group.from_json(self._http.request("PATCH", f"/groups/{group_id}", json=body))

    def delete(self, group_id: int) -> None:
        """Delete a group with its nesting and its shares (its members stay users)."""
        self._http.request("DELETE", f"/groups/{group_id}")

    def members(self, group_id: int) -> builtins.list[User]:
        """The group's direct members."""
        body = self._http.request("GET", f"/groups/{group_id}/members")
        return [User.from_json(item) for item in body.get("items") or []]

    def set_members(self, group_id: int, user_ids: Iterable[int], operation: str = "REPLACE") -> None:
        """Add, remove or replace the group's direct members."""
        body = {"user_ids": list(user_ids), "operation": operation}
        self._http.request("PUT", f"/groups/{group_id}/members", json=body)

    def member_groups(self, group_id: int) -> builtins.list[Group]:
        """The groups directly inside this one (their members are members of it too)."""
        body = self._http.request("GET", f"/groups/{group_id}/groups")
        return [Group.from_json(item) for item in body.get("items") or []]

    def parent_groups(self, group_id: int) -> builtins.list[Group]:
        """The groups this one is directly inside."""
        body = self._http.request("GET", f"/groups/{group_id}/parents")
        return [Group.from_json(item) for item in body.get("items") or []]

    def set_member_groups(
        self, group_id: int, group_ids: Iterable[int], operation: str = "REPLACE"
    ) -> None:
        """Add, remove or replace the groups inside this one (a cycle is refused)."""
        body = {"group_ids": list(group_ids), "operation": operation}
        self._http.request("PUT", f"/groups/{group_id}/groups", json=body)

    def privileges(self, group_id: int) -> builtins.list[str]:
        """The privileges the group gives its members."""
        body = self._http.request("GET", f"/groups/{group_id}/privileges")
        return list(body.get("privileges") or [])

    def set_privileges(
        self, group_id: int, privileges: Iterable[str], operation: str = "REPLACE"
    ) -> Group:
        """Add, remove or replace the group's privileges."""
        body = {"privileges": list(privileges), "operation": operation}
        return Group.from_json(self._http.request("PUT", f"/groups/{group_id}/privileges", json=body))

    def user_groups(self, user_id: int, *, inherited: bool = False) -> builtins.list[Group]:
        """The groups a user is directly in, or (`inherited=True`) those they are in only through nesting."""
        body = self._http.request("GET", f"/users/{user_id}/groups")
        return [Group.from_json(item) for item in body.get("inherited" if inherited else "items") or []]

    def set_user_groups(
        self, user_id: int, group_ids: Iterable[int], operation: str = "REPLACE"
    ) -> None:
        """Add the user to, remove them from, or make them a direct member of exactly, these groups."""
        body = {"group_ids": list(group_ids), "operation": operation}
        self._http.request("PUT", f"/users/{user_id}/groups", json=body)

    def user_privileges(self, user_id: int) -> builtins.list[str]:
        """A user's effective privileges: those their role implies and those of their groups."""
        body = self._http.request("GET", f"/users/{user_id}/privileges")
        return list(body.get("privileges") or [])
