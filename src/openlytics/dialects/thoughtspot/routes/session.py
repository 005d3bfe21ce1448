"""V1 sessions: password login and logout, trusted authentication (token, then login with it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal
from openlytics.core.user_tokens import TokenKind
from openlytics.dialects.thoughtspot.auth import (
    SESSION_COOKIE,
    Caller,
    app_of,
    clear_session_cookie,
    set_session_cookie,
)
from openlytics.dialects.thoughtspot.capabilities import V1
from openlytics.dialects.thoughtspot.forms import Form, flag, json_strings, text
from openlytics.dialects.thoughtspot.routes.common import find_groups

router = APIRouter()
ACCESS_LEVELS = ("FULL", "REPORT_BOOK_VIEW")


@router.post(f"{V1}/session/login")
def session_login(request: Request, form: Form) -> Response:
    """Form `username` (the e-mail), `password`, `rememberme` -> 204 and the session cookie."""
    remember = flag(form.get("rememberme"), "rememberme", True)
    token, _user = app_of(request).identity.login(text(form, "username"), text(form, "password"))
    response = Response(status_code=204)
    set_session_cookie(response, request, token, remember=remember)
    return response


@router.post(f"{V1}/session/logout")
def session_logout(request: Request) -> Response:
    """End the session of the cookie (if any) -> 204."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        app_of(request).identity.logout(token)
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


@router.post(f"{V1}/session/auth/token")
def session_auth_token(request: Request, form: Form) -> PlainTextResponse:
    """Trusted authentication: the organization's key and a username -> a login token (text)."""
    access = (form.get("access_level") or "FULL").strip().upper()
    if access not in ACCESS_LEVELS:
        raise InvalidInputError("access_level", "FULL or REPORT_BOOK_VIEW")
    if access == "REPORT_BOOK_VIEW":
        # A session cannot be limited to one object here; V2 auth/token/object gives such a token.
        raise InvalidInputError("access_level", "REPORT_BOOK_VIEW is not supported yet: use FULL")
    app = app_of(request)
    username = text(form, "username")
    create = flag(form.get("autocreate"), "autocreate", False)
    org_id = form.get("orgid")
    issued = app.user_tokens.issue_with_key(
        text(form, "secret_key"),
        username,
        kind=TokenKind.LOGIN,
        org_id=_org_id(org_id),
        create_as=username.split("@")[0] if create else None,
    )
    groups = json_strings(form.get("groups"), "groups")
    if create and groups:
        add_to_groups(request, issued.user.org_id, issued.user.id, groups)
    return PlainTextResponse(issued.token)


@router.post(f"{V1}/session/login/token")
def session_login_token_post(request: Request, form: Form) -> Response:
    """Open a session with a login token (once): 302 to a `redirect_url` of this server, else 204."""
    token, _user = app_of(request).user_tokens.consume_login_token(
        text(form, "auth_token"), text(form, "username")
    )
    target = form.get("redirect_url") or ""
    response: Response
    if target and same_server(target, request):
        response = RedirectResponse(target, status_code=302)
    else:
        response = Response(status_code=204)
    set_session_cookie(response, request, token, remember=True)
    return response


@router.post(f"{V1}/session/homepinboard")
def session_homepinboard_post(caller: Caller, form: Form) -> Response:
    """Accepted and not stored (no home page here yet) -> 204."""
    return Response(status_code=204)


def same_server(url: str, request: Request) -> bool:
    """Whether `url` is a path of this server or an absolute URL of this very origin."""
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return url.startswith("/") and not url.startswith("//") and "\\" not in url
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def add_to_groups(request: Request, org_id: int, user_id: int, groups: list[str]) -> None:
    """Put a user a trusted backend provisions into existing groups (as the organization itself)."""
    app = app_of(request)
    system = Principal.system(org_id)
    ids = [team.id for team in find_groups(app, system, groups)]
    app.groups.set_user_groups(system, user_id, ids, "ADD")


def _org_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInputError("orgid", "an organization id (a whole number)") from None
