"""Keys for the client's own test suite: Basic login -> token -> API key."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import AuthenticationError
from openlytics.dialects.serenytics.auth import app_of

router = APIRouter()


@router.get("/token")
def token(request: Request) -> dict[str, Any]:
    """GET token with `Authorization: Basic login:password` -> a session token."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationError("use Basic authentication with your login and password")
    try:
        login, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("malformed Basic credentials") from None
    session_token, _user = app_of(request).identity.login(login, password)
    return {"token": session_token}


@router.post("/api_key")
def api_key(request: Request) -> dict[str, Any]:
    """POST api_key with `X-Auth-Token: <token>` -> a new API key of that user."""
    app = app_of(request)
    principal = app.identity.authenticate_session(request.headers.get("x-auth-token", ""))
    issued = app.identity.create_api_key(principal, name="serenytics client")
    return {"api_key": issued.key}
