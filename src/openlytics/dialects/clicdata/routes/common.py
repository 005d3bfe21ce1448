"""Request helpers: JSON bodies (NaN and Infinity accepted), Python-literal booleans, page numbers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.bodies import json_object

MAX_JSON_BYTES = 50 * 1024 * 1024
TRUE = frozenset({"true", "1", "yes"})
FALSE = frozenset({"false", "0", "no", ""})


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object ({} when empty)."""
    return await json_object(request, max_bytes=MAX_JSON_BYTES)


Body = Annotated[dict[str, Any], Depends(json_body)]


def flag(value: str | None, field: str) -> bool | None:
    """`True`/`False` as Python prints them (any case); None when absent."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise InvalidInputError(field, "True or False")


def positive(value: str | None, field: str, default: int, maximum: int | None = None) -> int:
    """A page number or size from the query string."""
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInputError(field, "a whole number") from None
    if number < 1:
        raise InvalidInputError(field, "at least 1")
    if maximum is not None and number > maximum:
        raise InvalidInputError(field, f"at most {maximum:,}")
    return number


def text(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    """A string field of a body."""
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInputError(field, "a non-empty string" if required else "a string")
    return value
