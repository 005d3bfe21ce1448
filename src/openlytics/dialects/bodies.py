"""Request bodies as vendor clients send them: JSON whatever the Content-Type says (or without one)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from openlytics.core.errors import InvalidInputError


async def json_object(request: Request, *, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object; `{}` when empty or `null`."""
    raw = await request.body()
    if len(raw) > max_bytes:
        raise InvalidInputError("body", f"at most {max_bytes:,} bytes of JSON")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("body", "not valid JSON") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError("body", "a JSON object")
    return value
