"""Request size limits, enforced while the body streams in: JSON and form bodies up to
`max_json_request_bytes`, files (CSV, Parquet, Arrow, uploads: any other content type) up to
`upload_max_bytes`. A declared `Content-Length` over the limit is refused before a byte is read; a
body that streams past it fails the route reading it. Either way the caller gets 413 in its API's
error shape (docs/security.md)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openlytics.api.errors import PathResponder
from openlytics.core.errors import RequestTooLargeError

JSON_TYPES = ("application/json", "text/json", "application/x-www-form-urlencoded")


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in JSON_TYPES or kind.endswith("+json")


class RequestSizeLimit:
    """Pure ASGI middleware; `respond` answers an oversized declared length in the path's shape."""

    def __init__(
        self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int, respond: PathResponder
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "application/json")
        json_body = _is_json(content_type)
        limit = self.max_json_bytes if json_body else self.max_upload_bytes
        kind = "JSON bodies" if json_body else "files"
        declared = headers.get("content-length", "")
        if declared.isdecimal() and int(declared) > limit:
            error = RequestTooLargeError(limit, kind)
            response = self.respond(scope["path"], error.code, error.message, error.details)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLargeError(limit, kind)
            return message

        await self.app(scope, counted, send)
