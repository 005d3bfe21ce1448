"""Request parsing the Redash clients need: JSON bodies whatever the Content-Type, Python booleans."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import MAX_PER_PAGE
from openlytics.dialects.bodies import json_object
from openlytics.dialects.tonalytica.capabilities import CAPABILITIES

MAX_BODY_BYTES = 10 * 1024 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; parsed regardless of Content-Type (some scripts send none)."""
    return await json_object(request, max_bytes=MAX_BODY_BYTES)


Body = Annotated[dict[str, Any], Depends(json_body)]


def truthy(value: str | None) -> bool | None:
    """`True`/`true`/`1` and `False`/`false`/`0`, as Python clients spell them in query strings."""
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise InvalidInputError("query string", f"{value!r} is not a boolean")


class Paging:
    """`page` and `page_size` (capped, and echoed as capped)."""

    def __init__(
        self,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1)] = CAPABILITIES.default_page_size,
    ) -> None:
        self.page = page
        self.page_size = min(page_size, MAX_PER_PAGE)


PageParams = Annotated[Paging, Depends(Paging)]


def int_field(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """An integer field of a body (JSON numbers; digit strings are accepted too)."""
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInputError(name, "required")
        return None
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(name, "an integer id")
    return value


def base_url(request: Request, configured: str) -> str:
    """Where people reach this server: the configured public URL, else the request's own."""
    return (configured or str(request.base_url)).rstrip("/")
