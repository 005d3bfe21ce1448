"""Who is asking: `Authorization: Key <key>` or `?api_key=<key>` (user keys and query keys)."""

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
    """Resolve the caller from the Redash-style key header or the `api_key` query parameter."""
    key = request.query_params.get("api_key")
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("key", "bearer") or not value.strip():
            raise AuthenticationError("use 'Authorization: Key <API key>'")
        key = value.strip()
    if not key:
        raise AuthenticationError("an API key is required ('Authorization: Key <key>' or ?api_key=)")
    principal = app_of(request).identity.authenticate_api_key(key)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(authenticate)]
