"""Sharing objects with users and groups, and who reaches what (docs/governance.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from openlytics.api import serializers_governance as gser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body
from openlytics.core.governance.sharing import PrincipalRef

router = APIRouter(tags=["shares"])

PrincipalKind = Literal["user", "group"]
# The core calls a group's row a team.
CORE_KIND = {"user": "user", "group": "team"}


class Grant(Body):
    principal: PrincipalKind
    id: int
    mode: Literal["READ_ONLY", "MODIFY", "NO_ACCESS"]


class GrantsBody(Body):
    grants: list[Grant]


@router.get("/shares")
def list_shared_with(
    app: App,
    principal: CurrentPrincipal,
    grantee_kind: Annotated[PrincipalKind, Query(alias="principal")],
    grantee_id: Annotated[int, Query(alias="id")],
    kind: str | None = None,
) -> dict[str, Any]:
    """What a user or group reaches through shares (its own and its groups'); yours, or anyone's (admins)."""
    found = app.sharing.shared_with(principal, (CORE_KIND[grantee_kind], grantee_id), kind)
    return gser.shared_objects(found)


@router.post("/shares/access")
def bulk_access(body: dict[str, list[int]], app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Your access to many objects, `{kind: [ids]}` -> `{kind: {id: mode}}`; unknown ids are NO_ACCESS."""
    answer = app.sharing.bulk_access(principal, body)
    return {kind: {str(i): mode for i, mode in modes.items()} for kind, modes in answer.items()}


@router.get("/shares/{kind}/{object_id}")
def get_shares(
    kind: str,
    object_id: int,
    app: App,
    principal: CurrentPrincipal,
    type: Literal["defined", "effective"] = "defined",
) -> dict[str, Any]:
    """The object's shares (`defined`), or with its author and groups' members added (`effective`)."""
    read = app.sharing.effective if type == "effective" else app.sharing.defined
    found = read(principal, kind, object_id)
    return {
        "kind": kind,
        "object_id": object_id,
        "type": type,
        "access": app.sharing.access(principal, kind, object_id),
        "grants": gser.grants(found),
    }


@router.put("/shares/{kind}/{object_id}")
def share(
    kind: str, object_id: int, body: GrantsBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Share the object (READ_ONLY or MODIFY) or stop sharing it (NO_ACCESS) with users and groups.

    Needs MODIFY access; all grants apply or none. Answers the object's defined shares.
    """
    grants: dict[PrincipalRef, str] = {(CORE_KIND[g.principal], g.id): g.mode for g in body.grants}
    app.sharing.share(principal, kind, [object_id], grants)
    return get_shares(kind, object_id, app, principal)
