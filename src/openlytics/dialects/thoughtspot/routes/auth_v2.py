"""V2 authentication: bearer tokens (full, object), their validation and revocation, sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from openlytics.app import Openlytics
from openlytics.core.errors import AuthenticationError, InvalidInputError
from openlytics.core.user_tokens import IssuedUserToken, TokenKind, is_user_token
from openlytics.dialects.thoughtspot import wire
from openlytics.dialects.thoughtspot.auth import (
    Caller,
    app_of,
    bearer_token,
    set_session_cookie,
)
from openlytics.dialects.thoughtspot.capabilities import V2
from openlytics.dialects.thoughtspot.routes.common import Body, identifiers, user_v2
from openlytics.dialects.thoughtspot.routes.session import add_to_groups, session_logout

router = APIRouter()


@router.post(f"{V2}/auth/token/full")
def auth_token_full(request: Request, body: Body) -> dict[str, Any]:
    """`{username, password | secret_key, validity_time_in_sec, ...}` -> a token acting as the user."""
    return wire.token(_issue(app_of(request), body, TokenKind.FULL, request))


@router.post(f"{V2}/auth/token/object")
def auth_token_object(request: Request, body: Body) -> dict[str, Any]:
    """As `auth/token/full`, plus `object_id`: a token that reads that object only."""
    return wire.token(_issue(app_of(request), body, TokenKind.OBJECT, request))


@router.post(f"{V2}/auth/token/validate")
def auth_token_validate(request: Request, body: Body) -> dict[str, Any]:
    """`{token}` -> what it is while valid; 401 once expired, revoked or unknown."""
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise InvalidInputError("token", "required")
    return wire.token_info(app_of(request).user_tokens.describe(token))


@router.post(f"{V2}/auth/token/revoke")
def auth_token_revoke(request: Request, caller: Caller, body: Body) -> Response:
    """Revoke `{token}`, or the bearer token of this request -> 204."""
    token = body.get("token") or bearer_token(request)
    if not isinstance(token, str) or not is_user_token(token):
        raise InvalidInputError("token", "a token from auth/token/full or auth/token/object")
    app_of(request).user_tokens.revoke(caller, token)
    return Response(status_code=204)


@router.post(f"{V2}/auth/session/login")
def auth_session_login(request: Request, body: Body) -> Response:
    """`{username, password, remember_me, org_identifier?}`, or a bearer token -> 204 and the cookie."""
    app = app_of(request)
    remember = _remember(body.get("remember_me", True))
    if body.get("username") is not None or body.get("password") is not None:
        username, password = _string(body, "username"), _string(body, "password")
        token, _user = app.identity.login(username, password, _org_slug(app, body.get("org_identifier")))
    else:
        presented = bearer_token(request)
        if presented is None:
            raise AuthenticationError("give username and password, or send Authorization: Bearer <token>")
        principal = app.authenticate_bearer(presented)
        if principal.user_id is None:
            raise AuthenticationError("this credential acts for no user: it cannot open a session")
        token = app.identity.open_session(principal.user_id)
    response = Response(status_code=204)
    set_session_cookie(response, request, token, remember=remember)
    return response


# The same as V1's: end the session of the cookie (if any) -> 204.
router.add_api_route(f"{V2}/auth/session/logout", session_logout, methods=["POST"])


@router.get(f"{V2}/auth/session/user")
def auth_session_user(request: Request, caller: Caller) -> dict[str, Any]:
    """The caller as a V2 user object."""
    app = app_of(request)
    user = app.identity.current_user(caller)
    if user is None:
        raise AuthenticationError("this credential acts for no user")
    return user_v2(app, caller, user, app.identity.get_organization(caller))


def _issue(app: Openlytics, body: dict[str, Any], kind: TokenKind, request: Request) -> IssuedUserToken:
    username = _string(body, "username")
    validity = body.get("validity_time_in_sec", 300)
    org_id = body.get("org_id")
    if org_id is not None and (isinstance(org_id, bool) or not isinstance(org_id, int)):
        raise InvalidInputError("org_id", "an organization id (a whole number)")
    object_id = _string(body, "object_id") if kind == TokenKind.OBJECT else None
    secret_key, password = body.get("secret_key"), body.get("password")
    if isinstance(secret_key, str) and secret_key:
        create = body.get("auto_create") is True
        issued = app.user_tokens.issue_with_key(
            secret_key,
            username,
            kind=kind,
            validity_seconds=validity,
            org_id=org_id,
            object_uuid=object_id,
            create_as=_new_user_name(body, username) if create else None,
        )
        groups = identifiers(body, "group_identifiers")
        if create and groups:
            add_to_groups(request, issued.user.org_id, issued.user.id, groups)
        return issued
    if isinstance(password, str) and password:
        return app.user_tokens.issue_with_password(
            username, password, kind=kind, validity_seconds=validity, org_id=org_id, object_uuid=object_id
        )
    raise InvalidInputError("password", "give password or secret_key")


def _new_user_name(body: dict[str, Any], username: str) -> str:
    email = body.get("email")
    if email is not None and (
        not isinstance(email, str) or email.strip().lower() != username.strip().lower()
    ):
        raise InvalidInputError("email", "must be the username: users are named by their e-mail here")
    display = body.get("display_name")
    return display.strip() if isinstance(display, str) and display.strip() else username.split("@")[0]


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "a non-empty string")
    return value


def _remember(value: Any) -> bool:
    # The client sends the string "true"/"false" (contract Q11); a JSON boolean is fine too.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInputError("remember_me", "true or false")


def _org_slug(app: Openlytics, identifier: Any) -> str | None:
    """The slug of the organization an `org_identifier` (id or name) names."""
    if identifier is None or identifier == "":
        return None
    wanted = str(identifier).strip().lower()
    for org in app.identity.organizations():
        if wanted in (str(org.id), org.name.lower(), org.slug):
            return org.slug
    raise AuthenticationError("wrong username or password")
