"""Core objects <-> ThoughtSpot shapes: headers, V1 user and group objects, V2 users and tokens.

GUIDs are our `uuid`s; a user's `name` (their ThoughtSpot username) is their e-mail and their
`displayName` their name; times are epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from openlytics.core.user_tokens import IssuedUserToken, TokenInfo, TokenKind
from openlytics.store.models import Organization, Team, User

ACCESS_TYPES = {TokenKind.FULL: "FULL", TokenKind.OBJECT: "REPORT_BOOK_VIEW", TokenKind.LOGIN: "FULL"}


def millis(value: datetime | None) -> int:
    """Epoch milliseconds (0 when unknown)."""
    return int(value.timestamp() * 1000) if value is not None else 0


def guid(value: User | Team) -> str:
    """The GUID of a user or group."""
    return str(value.uuid)


def account_status(user: User) -> str:
    """`ACTIVE`, or `INACTIVE` for a disabled user."""
    return "ACTIVE" if user.disabled_at is None else "INACTIVE"


def _header(
    id: str, name: str, display_name: str, kind: str, created: datetime, modified: datetime, author: str
) -> dict[str, Any]:
    return {
        "id": id,
        "name": name,
        "displayName": display_name,
        "description": "",
        "type": kind,
        "author": author,
        "authorName": "",
        "authorDisplayName": "",
        "created": millis(created),
        "modified": millis(modified),
        "modifiedBy": author,
        "owner": id,
        "isDeleted": False,
        "isHidden": False,
        "isExternal": False,
        "isDeprecated": False,
        "tags": [],
    }


# ----- V1 ---------------------------------------------------------------------------------------
def user_header(user: User) -> dict[str, Any]:
    """A user's header (lists of members)."""
    me = guid(user)
    header = _header(me, user.email, user.name, "USER", user.created_at, user.updated_at, me)
    header.update(authorName=user.email, authorDisplayName=user.name)
    return header


def group_header(team: Team, author: User | None = None) -> dict[str, Any]:
    """A group's header (lists of groups)."""
    header = _header(
        guid(team),
        team.name,
        team.display_name or team.name,
        "USER_GROUP",
        team.created_at,
        team.updated_at,
        guid(author) if author is not None else guid(team),
    )
    header["description"] = team.description or ""
    if author is not None:
        header.update(authorName=author.email, authorDisplayName=author.name)
    return header


def user_object(
    user: User, *, privileges: Iterable[str], assigned: Iterable[Team], inherited: Iterable[Team]
) -> dict[str, Any]:
    """A user as `user/` and `group/listuser/<guid>` answer it."""
    return {
        "header": user_header(user),
        "privileges": list(privileges),
        "assignedGroups": [guid(t) for t in assigned],
        "inheritedGroups": [guid(t) for t in inherited],
        "state": account_status(user),
        "isSuperUser": user.is_superadmin,
        "isSystemPrincipal": False,
        "type": "LOCAL_USER",
        "parenttype": "USER",
        "visibility": "DEFAULT",
        "userContent": {"userProperties": {"mail": user.email}},
        "displayName": user.name,
    }


def group_object(
    team: Team, *, author: User | None, parents: Iterable[Team], ancestors: Iterable[Team]
) -> dict[str, Any]:
    """A group as `group` answers it; `parents` are the groups it is directly in."""
    return {
        "header": group_header(team, author),
        "privileges": list(team.privileges or []),
        "assignedGroups": [guid(t) for t in parents],
        "inheritedGroups": [guid(t) for t in ancestors],
        "state": "ACTIVE",
        "isSuperUser": False,
        "isSystemPrincipal": False,
        "type": "LOCAL_GROUP",
        "parenttype": "GROUP",
        "visibility": team.visibility or "DEFAULT",
        "displayName": team.display_name or team.name,
        "description": team.description or "",
    }


# ----- V2 ---------------------------------------------------------------------------------------
def named(values: Iterable[User | Team]) -> list[dict[str, str]]:
    """`[{"id", "name"}]`."""
    return [{"id": guid(v), "name": v.email if isinstance(v, User) else v.name} for v in values]


def org_ref(org: Organization) -> dict[str, Any]:
    """`{"id", "name"}` of an organization."""
    return {"id": org.id, "name": org.name}


def user_v2(
    user: User,
    org: Organization,
    *,
    privileges: Iterable[str],
    groups: Iterable[Team],
    inherited: Iterable[Team],
) -> dict[str, Any]:
    """A user as `users/search` and `auth/session/user` answer it."""
    me = guid(user)
    return {
        "id": me,
        "name": user.email,
        "display_name": user.name,
        "email": user.email,
        "visibility": "SHARABLE",
        "author_id": me,
        "owner_id": me,
        "modifier_id": me,
        "account_type": "LOCAL_USER",
        "account_status": account_status(user),
        "user_groups": named(groups),
        "user_inherited_groups": named(inherited),
        "orgs": [org_ref(org)],
        "current_org": org_ref(org),
        "privileges": list(privileges),
        "super_user": user.is_superadmin,
        "system_user": False,
        "can_change_password": True,
        "complete_detail": True,
        "deleted": False,
        "deprecated": False,
        "external": False,
        "hidden": False,
        "parent_type": "USER",
        "tags": [],
        "tenant_id": None,
        "creation_time_in_millis": millis(user.created_at),
        "modification_time_in_millis": millis(user.updated_at),
        "last_login_time_in_millis": millis(user.last_seen_at) or None,
    }


def token(issued: IssuedUserToken) -> dict[str, Any]:
    """The answer of `auth/token/full` and `auth/token/object`."""
    return {
        "token": issued.token,
        "creation_time_in_millis": millis(issued.created_at),
        "expiration_time_in_millis": millis(issued.expires_at),
        "valid_for_user_id": guid(issued.user),
        "valid_for_username": issued.user.email,
        "scope": _scope(issued.kind, issued.user, issued.object_uuid),
    }


def token_info(info: TokenInfo) -> dict[str, Any]:
    """The answer of `auth/token/validate`."""
    return {
        "creation_time_in_millis": millis(info.created_at),
        "expiration_time_in_millis": millis(info.expires_at),
        "valid_for_user_id": guid(info.user),
        "valid_for_username": info.user.email,
        "token_type": "Bearer",
        "scope": _scope(info.kind, info.user, info.object_uuid),
    }


def _scope(kind: TokenKind, user: User, object_uuid: object) -> dict[str, Any]:
    return {
        "access_type": ACCESS_TYPES[kind],
        "org_id": user.org_id,
        "metadata_id": str(object_uuid) if object_uuid is not None else None,
    }
