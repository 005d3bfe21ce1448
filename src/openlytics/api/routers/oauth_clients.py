"""OAuth 2.0 clients (client credentials) and the token endpoint of RFC 6749 §4.4."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from openlytics.api import serializers as ser
from openlytics.api.auth import App, CurrentPrincipal, app_of
from openlytics.api.routers.common import Body, PageParams
from openlytics.core.errors import AuthenticationError
from openlytics.core.pagination import Page

router = APIRouter(tags=["oauth"])
# The token endpoint authenticates the client itself: it is mounted without the Bearer dependency.
public_router = APIRouter(tags=["oauth"])

GRANT_TYPE = "client_credentials"
FORM_TYPE = "application/x-www-form-urlencoded"
# RFC 6749 §5.1: token answers must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class NewOAuthClientBody(Body):
    name: str = Field(default="", max_length=255)
    user_id: int | None = None


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """The JSON answer of the token endpoint."""
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status, headers={**NO_STORE, **self.headers})


@router.get("/oauth-clients")
def list_oauth_clients(app: App, principal: CurrentPrincipal, paging: PageParams) -> dict[str, Any]:
    """The caller's OAuth clients (admins: the organization's), never their secrets."""
    clients = app.oauth.list_clients(principal)
    start = (paging.page - 1) * paging.per_page
    page = Page(clients[start : start + paging.per_page], paging.page, paging.per_page, len(clients))
    return ser.page_of(page, [ser.oauth_client(c) for c in page.items])


@router.post("/oauth-clients", status_code=201)
def create_oauth_client(body: NewOAuthClientBody, app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new client for the caller or (admins) another user; the secret is in this answer only."""
    return ser.issued_oauth_client(app.oauth.create_client(principal, name=body.name, user_id=body.user_id))


@router.delete("/oauth-clients/{client_pk}", status_code=204)
def revoke_oauth_client(client_pk: int, app: App, principal: CurrentPrincipal) -> Response:
    """Revoke a client; the access tokens it obtained stop working."""
    app.oauth.revoke_client(principal, client_pk)
    return Response(status_code=204)


@public_router.post("/oauth/token")
async def issue_token(request: Request) -> Response:
    """Exchange client credentials (form fields or HTTP Basic) for a bearer access token."""
    try:
        form = await _form(request)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != GRANT_TYPE:
            raise OAuthError(400, "unsupported_grant_type", f"only {GRANT_TYPE} is supported")
        client_id, client_secret, via_basic = _client_credentials(request, form)
        try:
            issued = await run_in_threadpool(app_of(request).oauth.issue_token, client_id, client_secret)
        except AuthenticationError as exc:
            raise OAuthError(
                401, "invalid_client", exc.message, {"WWW-Authenticate": "Basic"} if via_basic else None
            ) from None
    except OAuthError as exc:
        return exc.response()
    body = {
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
    }
    return JSONResponse(body, headers=NO_STORE)


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise OAuthError(400, "invalid_request", f"send the parameters as {FORM_TYPE}")
    try:
        fields = parse_qs(
            (await request.body()).decode("utf-8"), keep_blank_values=True, strict_parsing=False
        )
    except UnicodeDecodeError:
        raise OAuthError(400, "invalid_request", "the body is not valid UTF-8") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise OAuthError(400, "invalid_request", f"parameters given more than once: {', '.join(repeated)}")
    return {name: values[0] for name, values in fields.items()}


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str, bool]:
    """(client_id, client_secret, whether HTTP Basic carried them)."""
    header = request.headers.get("authorization")
    if header:
        if "client_id" in form or "client_secret" in form:
            raise OAuthError(400, "invalid_request", "authenticate the client with one method only")
        client_id, client_secret = _basic_credentials(header)
        return client_id, client_secret, True
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not client_secret:
        # RFC 6749 §5.2: a request without client authentication is invalid_client.
        raise _invalid_client("send client_id and client_secret, or use HTTP Basic")
    return client_id, client_secret, False


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise _invalid_client("client authentication must use HTTP Basic")
    try:
        pair = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError both are
        raise _invalid_client("malformed HTTP Basic credentials") from None
    client_id, colon, client_secret = pair.partition(":")
    if not colon or not client_id:
        raise _invalid_client("malformed HTTP Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return unquote_plus(client_id), unquote_plus(client_secret)


def _invalid_client(description: str) -> OAuthError:
    return OAuthError(401, "invalid_client", description, {"WWW-Authenticate": "Basic"})
