"""Who is asking: `X-Api-Key: <key>`; the test suite's `GET /api/token` + `POST /api/api_key` too."""

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
    """Resolve the caller from the `X-Api-Key` header."""
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        raise AuthenticationError("an API key is required in the X-Api-Key header")
    principal = app_of(request).identity.authenticate_api_key(key)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(authenticate)]
