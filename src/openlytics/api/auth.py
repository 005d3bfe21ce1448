"""Authentication for the native API, in one dependency applied to every /api/v1 router."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openlytics.app import Openlytics
from openlytics.core.errors import AuthenticationError, PermissionDeniedError
from openlytics.core.principal import Principal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_of(request: Request) -> Openlytics:
    """The application object of this server."""
    app: Openlytics = request.app.state.openlytics
    return app


async def get_app(request: Request) -> Openlytics:
    """Dependency form of `app_of` (async: no thread hop for a dictionary lookup)."""
    return app_of(request)


# Declares the scheme in OpenAPI (the docs page's "Authorize" button); parsing stays ours, below.
bearer_scheme = HTTPBearer(auto_error=False, description="An openlytics API key or OAuth access token")


def authenticate(
    request: Request, _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> Principal:
    """Resolve the caller from `Authorization: Bearer <key or access token>` or the session cookie."""
    app = app_of(request)
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("use 'Authorization: Bearer <API key or OAuth access token>'")
        principal = app.authenticate_bearer(value.strip())
    else:
        token = request.cookies.get(app.settings.session_cookie_name)
        if not token:
            raise AuthenticationError("authentication required")
        principal = app.identity.authenticate_session(token)
        if request.method not in SAFE_METHODS:
            _check_same_origin(request)
    request.state.principal = principal
    return principal


def _check_same_origin(request: Request) -> None:
    # Cookie-authenticated writes must come from our own pages (CSRF): same Origin, or a
    # custom header that a cross-site form cannot send without a CORS preflight.
    if request.headers.get("x-requested-with"):
        return
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc == request.headers.get("host"):
        return
    raise PermissionDeniedError("write with a session cookie", "a request from another site")


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
App = Annotated[Openlytics, Depends(get_app)]
