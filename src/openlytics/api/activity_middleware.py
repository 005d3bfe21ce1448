"""Counts every authenticated request as an API call in the activity log.

A pure ASGI middleware: the auth dependencies (native and dialects) put the caller in
`request.state.principal`, which is `scope["state"]`; the middleware reads it from there when the
response starts (the route has run by then). Unauthenticated requests (health checks, public
pages, failed logins) are not counted.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.core.principal import Principal

NATIVE_PREFIX = "/api/v1"
NATIVE_CHANNEL = "native"


class ActivityMiddleware:
    """Records API_CALL for each request that an auth dependency resolved to a principal."""

    def __init__(self, app: ASGIApp, *, activity: ActivityLog) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Created here so that the route's Request (whatever copies of the scope lie between)
        # writes into this very dictionary.
        state: dict[str, Any] = scope.setdefault("state", {})
        recorded = False

        def record() -> None:
            nonlocal recorded
            principal = state.get("principal")
            if not recorded and isinstance(principal, Principal):
                recorded = True
                self.activity.record(
                    principal.org_id,
                    principal.user_id,
                    ActivityKind.API_CALL,
                    channel=channel_of(scope["path"]),
                )

        async def send_recording(message: Message) -> None:
            # Before the response leaves: a report the client asks for next already counts this call.
            if message["type"] == "http.response.start":
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            record()  # no response started (the connection dropped): still a call


def channel_of(path: str) -> str:
    """`native` for the native API, otherwise the first path segment (the dialect's name)."""
    if path == NATIVE_PREFIX or path.startswith(NATIVE_PREFIX + "/"):
        return NATIVE_CHANNEL
    return path.strip("/").split("/", 1)[0][:40] or NATIVE_CHANNEL
