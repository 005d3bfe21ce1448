"""Shares inside documents: `permissions: [{principal: {type: user|group, name}, mode}]`.

Users are named by e-mail and groups by name, so a document means the same on another server
that has the same people. Importing a document with `permissions` makes the object's shares
exactly those (others are removed); without the key its shares are left alone."""

from __future__ import annotations

from typing import Any

from openlytics.core.assets.context import AssetContext, ImportContext
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.governance.sharing import PrincipalRef

_MODES = ("READ_ONLY", "MODIFY")


def exported_permissions(ctx: AssetContext, kind: str, object_id: int) -> list[dict[str, Any]]:
    """The object's shares as document entries (users by e-mail, groups by name), sorted."""
    services, principal = ctx.services, ctx.principal
    entries = []
    for (principal_kind, principal_id), mode in services.sharing.defined(principal, kind, object_id).items():
        if principal_kind == "user":
            name = services.identity.get_user(principal, principal_id).email
            entries.append({"principal": {"type": "user", "name": name}, "mode": mode})
        else:
            name = services.groups.get(principal, principal_id).name
            entries.append({"principal": {"type": "group", "name": name}, "mode": mode})
    return sorted(entries, key=lambda e: (e["principal"]["type"], e["principal"]["name"]))


def apply_permissions(ctx: ImportContext, kind: str, object_id: int, entries: Any, where: str) -> None:
    """Make the object's shares those the document lists."""
    wanted = _wanted(ctx, entries, where)
    current = ctx.services.sharing.defined(ctx.principal, kind, object_id)
    grants: dict[PrincipalRef, str] = {ref: "NO_ACCESS" for ref in current if ref not in wanted}
    grants.update({ref: mode for ref, mode in wanted.items() if current.get(ref) != mode})
    if grants:
        ctx.services.sharing.share(ctx.principal, kind, [object_id], grants)


def _wanted(ctx: ImportContext, entries: Any, where: str) -> dict[PrincipalRef, str]:
    if not isinstance(entries, list):
        raise InvalidInputError(where, "a list of {principal: {type, name}, mode}")
    wanted: dict[PrincipalRef, str] = {}
    for position, entry in enumerate(entries):
        at = f"{where}[{position}]"
        target = entry.get("principal") if isinstance(entry, dict) else None
        if not isinstance(target, dict) or not isinstance(target.get("name"), str):
            raise InvalidInputError(at, "{principal: {type: user|group, name}, mode}")
        mode = entry.get("mode", "READ_ONLY")
        if mode not in _MODES:
            raise InvalidInputError(f"{at}.mode", "READ_ONLY or MODIFY")
        wanted[_principal_ref(ctx, target.get("type", "user"), target["name"], at)] = mode
    return wanted


def _principal_ref(ctx: ImportContext, kind: Any, name: str, where: str) -> PrincipalRef:
    try:
        if kind == "user":
            return ("user", ctx.services.identity.find_user_by_email(ctx.principal, name).id)
        if kind == "group":
            return ("team", ctx.services.groups.find(ctx.principal, name).id)
    except NotFoundError:
        raise InvalidInputError(f"{where}.principal", f"no {kind} {name!r} in this organization") from None
    raise InvalidInputError(f"{where}.principal.type", "user or group")
