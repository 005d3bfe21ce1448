"""Routing on the raw path, as the client builds it.

Starlette decodes `%2F` before routing, and the client quotes event-type names with no safe
characters, so the dialect mounts one catch-all route and matches the raw path itself (moto's
dispatch by operation): `/alooma[/<account>]/rest/<path>`, trailing slashes ignored, segments
unquoted after matching. A path `samples&status=X` (the client forgets the `?`) is read as
`samples?status=X`. `POST /alooma/inputs/rest/<token>` is the webhook of a REST input.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, OpenlyticsError
from openlytics.core.principal import Principal
from openlytics.dialects.alooma.auth import app_of, authenticate
from openlytics.dialects.alooma.errors import format_error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 50 * 1024 * 1024
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass
class Call:
    """One request as a handler sees it."""

    app: Openlytics
    request: Request
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    account: str | None
    principal: Principal = field(default=None)  # type: ignore[assignment]  # set unless public

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body as JSON (any JSON value; None when empty)."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError("body", "not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty)."""
        value = self.json()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise InvalidInputError("body", "a JSON object")
        return value


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool


class Routes:
    """A module's routes: `@routes.get("event-types/{name}")` (segments match one raw segment)."""

    def __init__(self) -> None:
        self.items: list[Route] = []

    def add(self, method: str, template: str, *, public: bool = False) -> Callable[[Handler], Handler]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.strip("/"))

        def register(handler: Handler) -> Handler:
            self.items.append(Route(method, re.compile(f"^{regex}$"), handler, public))
            return handler

        return register

    def get(self, template: str, *, public: bool = False) -> Callable[[Handler], Handler]:
        return self.add("GET", template, public=public)

    def post(self, template: str, *, public: bool = False) -> Callable[[Handler], Handler]:
        return self.add("POST", template, public=public)

    def put(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("PUT", template)

    def delete(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("DELETE", template)


def dispatcher(prefix: str, modules: list[Routes], webhook: Handler) -> APIRouter:
    """One catch-all route dispatching on the raw path to the modules' routes, in order."""
    table = [route for routes in modules for route in routes.items]
    router = APIRouter(include_in_schema=False)

    @router.api_route("/{anything:path}", methods=METHODS)
    async def alooma(request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        query_string = request.scope.get("query_string", b"").decode("latin-1")
        rest = path[len(prefix) :].strip("/") if path.startswith(prefix) else path.strip("/")
        parts = rest.split("/", 2)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise InvalidInputError("body", f"at most {MAX_BODY_BYTES:,} bytes")
        app = app_of(request)
        if len(parts) == 3 and parts[0] == "inputs" and parts[1] == "rest" and request.method == "POST":
            call = Call(app, request, {"token": unquote(parts[2])}, {}, body, None)
            return _respond(await run_in_threadpool(webhook, call))
        if parts[0] == "rest":
            account, tail = None, "/".join(parts[1:])
        elif len(parts) >= 2 and parts[1] == "rest":
            account, tail = unquote(parts[0]), "/".join(parts[2:])
        else:
            return _not_implemented(request.method, rest)
        tail = tail.strip("/")
        if "&" in tail and "?" not in tail and tail.startswith("samples&"):
            tail, extra = tail.split("&", 1)
            query_string = f"{extra}&{query_string}" if query_string else extra
        query = parse_qs(query_string, keep_blank_values=True)
        for route in table:
            match = route.pattern.match(tail)
            if match is None or route.method != request.method:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            call = Call(app, request, params, query, body, account)
            return _respond(await run_in_threadpool(_run, route, call))
        if any(r.pattern.match(tail) for r in table):
            raise MethodNotAllowedError(request.method, tail)
        return _not_implemented(request.method, f"rest/{tail}")

    return router


class MethodNotAllowedError(OpenlyticsError):
    """The path exists, not with this method."""

    code = "method_not_allowed"

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"{method} is not allowed on {path}")


def _not_implemented(method: str, path: str) -> Response:
    log.warning("alooma dialect: %s /%s is not implemented", method, path)
    return format_error("not_implemented", f"the alooma dialect does not implement {method} /{path}", {})


def _run(route: Route, call: Call) -> Any:
    if not route.public:
        call.principal = authenticate(call.request, call.account)
    return route.handler(call)


def _respond(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    return JSONResponse(result)
