"""Users and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response

from openlytics.api import serializers as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body, PageParams

router = APIRouter(tags=["users"])


class NewUserBody(Body):
    email: str
    name: str
    role: str = "viewer"
    password: str | None = None


class UserChangesBody(Body):
    name: str | None = None
    role: str | None = None
    password: str | None = None
    is_disabled: bool | None = None


class NewApiKeyBody(Body):
    name: str = ""
    user_id: int | None = None
    expires_at: datetime | None = None


class NewQueryKeyBody(Body):
    name: str = ""


@router.get("/users")
def list_users(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """Users of the organization."""
    page = app.identity.list_users(principal, page=paging.page, per_page=paging.per_page)
    return ser.page_of(page, [ser.user(u) for u in page.items])


@router.post("/users", status_code=201)
def create_user(body: NewUserBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Add a user (admins)."""
    return ser.user(app.identity.create_user(principal, **body.model_dump()))


@router.get("/users/{user_id}")
def get_user(user_id: int, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """One user."""
    return ser.user(app.identity.get_user(principal, user_id))


@router.patch("/users/{user_id}")
def update_user(user_id: int, body: UserChangesBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Change a user's name, role, password or disabled flag."""
    return ser.user(app.identity.update_user(principal, user_id, **body.model_dump(exclude_unset=True)))


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Delete a user with their keys, sessions and team memberships (their objects stay, unowned).

    To only stop someone's access, PATCH `{"is_disabled": true}` instead.
    """
    app.identity.delete_user(principal, user_id)
    return Response(status_code=204)


@router.get("/api-keys")
def list_api_keys(
    app: App, principal: CurrentPrincipal, paging: PageParams, user_id: int | None = None
) -> dict[str, Any]:
    """The caller's keys (admins: anyone's)."""
    page = app.identity.list_api_keys(principal, user_id=user_id, page=paging.page, per_page=paging.per_page)
    return ser.page_of(page, [ser.api_key(k) for k in page.items])


@router.post("/api-keys", status_code=201)
def create_api_key(body: NewApiKeyBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new user key; the plaintext is in this answer only."""
    return ser.issued_key(app.identity.create_api_key(principal, **body.model_dump()))


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: int, app: App, principal: CurrentPrincipal) -> Response:
    """Revoke a key."""
    app.identity.revoke_api_key(principal, key_id)
    return Response(status_code=204)


@router.post("/queries/{query_id}/api-keys", status_code=201)
def create_query_key(
    query_id: int, body: NewQueryKeyBody, app: App, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A key that reaches only this query and its results."""
    return ser.issued_key(app.identity.create_query_key(principal, query_id, name=body.name))
