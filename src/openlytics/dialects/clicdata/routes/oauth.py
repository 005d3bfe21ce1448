"""`POST oauth20/token`: the client-credentials grant (form-encoded, RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openlytics.core.errors import AuthenticationError
from openlytics.dialects.clicdata.auth import app_of
from openlytics.dialects.clicdata.errors import oauth_error

router = APIRouter()
MAX_FORM_BYTES = 64 * 1024


@router.post("/oauth20/token")
async def session_initialize(request: Request) -> JSONResponse:
    """`Session()` / `Session.reinitialize()`: client credentials -> a bearer token."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return oauth_error("invalid_request", "the request body is too large", 400)
    form = _form(raw, request.headers.get("content-type", ""))
    grant = form.get("grant_type")
    if grant != "client_credentials":
        return oauth_error("unsupported_grant_type", "only grant_type=client_credentials is supported", 400)
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if not client_id or not client_secret:
        client_id, client_secret = _basic_credentials(request.headers.get("authorization", ""))
    if not client_id or not client_secret:
        return oauth_error("invalid_request", "client_id and client_secret are required", 400)
    try:
        issued = app_of(request).oauth.issue_token(client_id, client_secret)
    except AuthenticationError as exc:
        return oauth_error("invalid_client", exc.message, 401)
    return JSONResponse(
        {"access_token": issued.access_token, "token_type": "bearer", "expires_in": issued.expires_in},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _form(raw: bytes, content_type: str) -> dict[str, str]:
    """Form fields; a JSON object is accepted too (some callers send one)."""
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            value: Any = json.loads(text)
        except ValueError:
            return {}
        return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    """`Authorization: Basic base64(client_id:client_secret)` (RFC 6749 §2.3.1)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None, None
    return unquote_plus(client_id), unquote_plus(secret)
