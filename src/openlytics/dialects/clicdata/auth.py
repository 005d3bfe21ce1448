"""Who is asking: `Authorization: Bearer <OAuth access token or API key>`, or `Basic <token>`.

The Basic token is the wrapper's construction: base64(client id + base64("username:password")).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from openlytics.app import Openlytics
from openlytics.core.errors import AuthenticationError
from openlytics.core.principal import Principal


def app_of(request: Request) -> Openlytics:
    """The application object behind this server."""
    app: Openlytics = request.app.state.openlytics
    return app


def authenticate(request: Request) -> Principal:
    """Resolve the caller from the Authorization header."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if not value:
        raise AuthenticationError("an access token is required: Authorization: Bearer <token>")
    app = app_of(request)
    if scheme.lower() == "bearer":
        principal = app.authenticate_bearer(value)
    elif scheme.lower() == "basic":
        principal = app.oauth.authenticate_basic(value)
    else:
        raise AuthenticationError("use Authorization: Bearer <token> (or Basic)")
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(authenticate)]
