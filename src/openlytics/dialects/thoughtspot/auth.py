"""Who is asking: the session cookie `JSESSIONID`, or `Authorization: Bearer <token>`.

Both V1 and V2 accept both: the client keeps one `requests.Session`, replays the cookie a login
set, and sends the bearer token once `bearer_token` is assigned. The token may be a user token
(`auth/token/full`), an OAuth access token or an API key. A cookie-authenticated write must carry
`X-Requested-By` (as ThoughtSpot requires; a cross-site form cannot send it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from openlytics.app import Openlytics
from openlytics.core.errors import AuthenticationError, PermissionDeniedError
from openlytics.core.principal import Principal
from openlytics.dialects.thoughtspot.capabilities import CAPABILITIES

SESSION_COOKIE = "JSESSIONID"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_of(request: Request) -> Openlytics:
    """The application object behind this server."""
    app: Openlytics = request.app.state.openlytics
    return app


def bearer_token(request: Request) -> str | None:
    """The bearer token of the request, if it sends one."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(request: Request, *, object_tokens: bool = False) -> Principal:
    """Resolve the caller from the bearer token, else from the session cookie."""
    app = app_of(request)
    if request.headers.get("authorization", "").strip():
        token = bearer_token(request)
        if token is None:
            raise AuthenticationError("use Authorization: Bearer <token>")
        principal = app.authenticate_bearer(token, object_tokens=object_tokens)
    else:
        session = request.cookies.get(SESSION_COOKIE)
        if not session:
            raise AuthenticationError("log in (session/login) or send Authorization: Bearer <token>")
        principal = app.identity.authenticate_session(session)
        if request.method not in SAFE_METHODS and not request.headers.get("x-requested-by"):
            raise PermissionDeniedError("write with a session cookie", "a request without X-Requested-By")
    request.state.principal = principal
    return principal


def authenticate_object_reader(request: Request) -> Principal:
    """As `authenticate`, also accepting an object token (`auth/token/object`): for routes that
    serve one object's data, where sharing confines the token to its object."""
    return authenticate(request, object_tokens=True)


Caller = Annotated[Principal, Depends(authenticate)]
ObjectReader = Annotated[Principal, Depends(authenticate_object_reader)]


def set_session_cookie(response: Response, request: Request, token: str, *, remember: bool) -> None:
    """`JSESSIONID` for the mount path; kept across browser restarts only with `remember`."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=app_of(request).settings.session_ttl_seconds if remember else None,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=CAPABILITIES.prefix,
    )


def clear_session_cookie(response: Response) -> None:
    """Tell the client to forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path=CAPABILITIES.prefix)
