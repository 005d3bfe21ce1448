"""Who is asking: `authorization: API <key>` or the session cookie set by `POST rest/login`.

No credential answers 401 (never 403 or a redirect): the client logs in lazily on a 401. With an
account in the path (`/alooma/<account>/rest/...`) the caller must belong to that organization.
"""

from __future__ import annotations

from fastapi import Request

from openlytics.app import Openlytics
from openlytics.core.errors import AuthenticationError
from openlytics.core.principal import Principal


def app_of(request: Request) -> Openlytics:
    """The application object behind this server."""
    app: Openlytics = request.app.state.openlytics
    return app


def authenticate(request: Request, account: str | None) -> Principal:
    """Resolve the caller from the API key header or the session cookie (then check the account)."""
    app = app_of(request)
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme and value.strip():
        if scheme.lower() not in ("api", "bearer"):
            raise AuthenticationError("use 'authorization: API <key>'")
        principal = app.authenticate_bearer(value.strip())
    else:
        token = request.cookies.get(app.settings.session_cookie_name)
        if not token:
            raise AuthenticationError("an API key or a session (POST rest/login) is required")
        principal = app.identity.authenticate_session(token)
    if account is not None and app.identity.get_organization(principal).slug != account:
        raise AuthenticationError(f"the credential does not belong to account {account}")
    request.state.principal = principal
    return principal
