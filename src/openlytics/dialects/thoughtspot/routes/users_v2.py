"""V2 users: search, update (with group membership), reset a password."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Action
from openlytics.dialects.thoughtspot import wire
from openlytics.dialects.thoughtspot.auth import Caller, app_of
from openlytics.dialects.thoughtspot.capabilities import CAPABILITIES, V2
from openlytics.dialects.thoughtspot.routes.common import (
    Body,
    all_users,
    find_groups,
    find_user,
    identifiers,
    operation,
    user_v2,
)
from openlytics.store.models import Organization, User

router = APIRouter()
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "DEFAULT": lambda u: u["creation_time_in_millis"],
    "NAME": lambda u: u["name"].lower(),
    "DISPLAY_NAME": lambda u: u["display_name"].lower(),
    "AUTHOR": lambda u: u["author_id"],
    "CREATED": lambda u: u["creation_time_in_millis"],
    "MODIFIED": lambda u: u["modification_time_in_millis"],
}
VISIBILITIES = ("SHARABLE", "DEFAULT", "NON_SHARABLE")
# Preferences of ThoughtSpot's own UI: accepted by `update` and not kept.
UI_PREFERENCES = frozenset(
    {
        "preferred_locale",
        "notify_on_share",
        "show_onboarding_experience",
        "onboarding_experience_completed",
        "home_liveboard_identifier",
        "favorite_metadata",
        "extended_properties",
        "extended_preferences",
        "use_browser_language",
    }
)
UPDATE_FIELDS = frozenset(
    {
        "name",
        "display_name",
        "email",
        "visibility",
        "account_status",
        "account_type",
        "group_identifiers",
        "operation",
        "org_identifiers",
    }
)


@router.post(f"{V2}/users/search")
def users_search(request: Request, caller: Caller, body: Body) -> list[dict[str, Any]]:
    """Users matching every filter given, sorted, from `record_offset`, at most `record_size`."""
    app = app_of(request)
    org = app.identity.get_organization(caller)
    if not _names_org(body.get("org_identifiers"), org):
        return []
    users = [u for u in all_users(app, caller) if _matches_fields(u, body)]
    found = [user_v2(app, caller, u, org) for u in users]
    found = [u for u in found if _matches_groups(u, body) and _matches_privileges(u, body)]
    field, descending = _sort(body.get("sort_options"))
    found.sort(key=SORT_KEYS[field], reverse=descending)
    offset = _whole(body.get("record_offset", 0), "record_offset", minimum=0)
    size = _whole(body.get("record_size", CAPABILITIES.default_page_size), "record_size", minimum=-1)
    return found[offset:] if size == -1 else found[offset : offset + size]


@router.post(f"{V2}/users/{{user_identifier}}/update")
def users_update(user_identifier: str, request: Request, caller: Caller, body: Body) -> Response:
    """Change the display name, the status and (ADD/REMOVE/REPLACE) the groups of a user -> 204."""
    app = app_of(request)
    user = find_user(app, caller, user_identifier)
    unknown = sorted(set(body) - UPDATE_FIELDS - UI_PREFERENCES)
    if unknown:
        raise InvalidInputError(unknown[0], "not a field users/update can change here")
    _check_unchangeable(user, body, app.identity.get_organization(caller))
    display_name = body.get("display_name")
    if display_name is not None and not isinstance(display_name, str):
        raise InvalidInputError("display_name", "a string")
    disabled = _disabled(body.get("account_status"))
    if display_name is not None or disabled is not None:
        app.identity.update_user(caller, user.id, name=display_name, is_disabled=disabled)
    groups = identifiers(body, "group_identifiers")
    if groups is not None:
        team_ids = [t.id for t in find_groups(app, caller, groups)]
        app.groups.set_user_groups(caller, user.id, team_ids, operation(body.get("operation")))
    elif body.get("operation") is not None:
        operation(body["operation"])
    return Response(status_code=204)


@router.post(f"{V2}/users/reset-password")
def users_reset_password(request: Request, caller: Caller, body: Body) -> Response:
    """`{user_identifier, new_password}` (admins) -> 204; the user's sessions end."""
    caller.require(Action.MANAGE_USERS, "passwords of users")
    identifier, password = body.get("user_identifier"), body.get("new_password")
    if not isinstance(identifier, str | int) or not str(identifier).strip():
        raise InvalidInputError("user_identifier", "a GUID or name")
    if not isinstance(password, str):
        raise InvalidInputError("new_password", "a string")
    app = app_of(request)
    user = find_user(app, caller, str(identifier))
    app.identity.update_user(caller, user.id, password=password)
    return Response(status_code=204)


# ----- search filters ---------------------------------------------------------------------------
def _names_org(value: Any, org: Organization) -> bool:
    if value is None:
        return True
    if not isinstance(value, list):
        raise InvalidInputError("org_identifiers", "a list of organization ids or names")
    names = {str(org.id), org.name.lower(), org.slug}
    return any(str(v).strip().lower() in names for v in value)


def _matches_fields(user: User, body: dict[str, Any]) -> bool:
    checks: list[tuple[str, Callable[[str], bool]]] = [
        ("user_identifier", lambda v: v.lower() in (str(user.uuid), user.email, str(user.id))),
        ("name_pattern", lambda v: _like(v).search(user.email) is not None),
        ("display_name", lambda v: v.strip().lower() == user.name.lower()),
        ("email", lambda v: v.strip().lower() == user.email),
        ("visibility", lambda v: _visibility(v) != "NON_SHARABLE"),
        ("account_type", lambda v: v.strip().upper() == "LOCAL_USER"),
        ("account_status", lambda v: v.strip().upper() == wire.account_status(user)),
    ]
    for field, check in checks:
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidInputError(field, "a string")
        if not check(value):
            return False
    return True


def _matches_groups(user: dict[str, Any], body: dict[str, Any]) -> bool:
    wanted = identifiers(body, "group_identifiers")
    if not wanted:
        return True
    held = {g[k].lower() for g in user["user_groups"] + user["user_inherited_groups"] for k in ("id", "name")}
    return any(w.strip().lower() in held for w in wanted)


def _matches_privileges(user: dict[str, Any], body: dict[str, Any]) -> bool:
    wanted = body.get("privileges")
    if wanted is None:
        return True
    if not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted):
        raise InvalidInputError("privileges", "a list of privilege names")
    return {p.strip().upper() for p in wanted} <= set(user["privileges"])


def _like(pattern: str) -> re.Pattern[str]:
    """A case-insensitive substring pattern where `%` matches any text."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("%")), re.IGNORECASE)


def _visibility(value: str) -> str:
    visibility = value.strip().upper()
    if visibility not in VISIBILITIES:
        raise InvalidInputError("visibility", "SHARABLE or NON_SHARABLE")
    return visibility


def _sort(value: Any) -> tuple[str, bool]:
    if value is None:
        return "DEFAULT", False
    if not isinstance(value, dict):
        raise InvalidInputError("sort_options", '{"field_name": ..., "order": "ASC" | "DESC"}')
    field = str(value.get("field_name") or "DEFAULT").strip().upper()
    if field not in SORT_KEYS:
        raise InvalidInputError("sort_options.field_name", ", ".join(SORT_KEYS))
    order = str(value.get("order") or "ASC").strip().upper()
    if order not in ("ASC", "DESC"):
        raise InvalidInputError("sort_options.order", "ASC or DESC")
    return field, order == "DESC"


def _whole(value: Any, field: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(field, f"a whole number of at least {minimum}")
    return value


# ----- update -----------------------------------------------------------------------------------
def _check_unchangeable(user: User, body: dict[str, Any], org: Organization) -> None:
    """Usernames are e-mails and fixed here; users are always sharable and local."""
    for field in ("name", "email"):
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or value.strip().lower() != user.email):
            raise InvalidInputError(field, "cannot change: users are named by their e-mail address here")
    visibility = body.get("visibility")
    if visibility is not None and (
        not isinstance(visibility, str) or _visibility(visibility) == "NON_SHARABLE"
    ):
        raise InvalidInputError("visibility", "users are always SHARABLE here")
    account_type = body.get("account_type")
    if account_type is not None and str(account_type).strip().upper() != "LOCAL_USER":
        raise InvalidInputError("account_type", "LOCAL_USER (the only kind of user here)")
    if not _names_org(body.get("org_identifiers"), org):
        raise InvalidInputError("org_identifiers", "users belong to one organization here")


def _disabled(value: Any) -> bool | None:
    if value is None:
        return None
    status = str(value).strip().upper()
    if status not in ("ACTIVE", "INACTIVE"):
        raise InvalidInputError("account_status", "ACTIVE or INACTIVE")
    return status == "INACTIVE"
