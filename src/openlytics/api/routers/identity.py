"""Who am I, session login/logout, organizations."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from openlytics.api import serializers as ser
from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.routers.common import Body

router = APIRouter(tags=["identity"])
public_router = APIRouter(tags=["identity"])


class LoginBody(Body):
    email: str
    password: str
    organization: str | None = None


class NewOrganizationBody(Body):
    name: str = Field(min_length=1, max_length=255)
    admin_email: str
    slug: str | None = None
    admin_name: str | None = None
    admin_password: str | None = None
    #: the organization's warehouse; default: PostgreSQL when the server has one, else embedded
    warehouse: Literal["embedded", "postgresql"] | None = None


@router.get("/me")
def me(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller, their organization and the kind of credential used."""
    user = app.identity.current_user(principal)
    org = app.identity.get_organization(principal)
    return {
        "user": ser.user(user) if user is not None else None,
        "organization": ser.organization(org),
        "credential": principal.credential,
        "query_id": principal.query_scope,
    }


@public_router.post("/session")
def login(body: LoginBody, app: App, request: Request, response: Response) -> dict[str, Any]:
    """Log in with e-mail and password; sets the session cookie."""
    token, user = app.identity.login(body.email, body.password, body.organization)
    response.set_cookie(
        app.settings.session_cookie_name,
        token,
        max_age=app.settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return ser.user(user)


@public_router.delete("/session", status_code=204)
def logout(app: App, request: Request, response: Response) -> Response:
    """End the session and clear its cookie."""
    token = request.cookies.get(app.settings.session_cookie_name)
    if token:
        app.identity.logout(token)
    response = Response(status_code=204)
    response.delete_cookie(app.settings.session_cookie_name, path="/")
    return response


@router.get("/organization")
def get_organization(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller's organization."""
    return ser.organization(app.identity.get_organization(principal))


@router.post("/organizations", status_code=201)
def create_organization(body: NewOrganizationBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create an organization with its first admin (superadmins only)."""
    created = app.identity.create_organization(principal, **body.model_dump())
    return {
        "organization": ser.organization(created.organization),
        "admin": ser.user(created.admin),
        "api_key": created.api_key.key,
    }
