"""Request and list helpers: raw JSON bodies (whatever the Content-type), Flask-Restless lists."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.bodies import json_object

MAX_JSON_BYTES = 50 * 1024 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); the client always says application/json."""
    return await json_object(request, max_bytes=MAX_JSON_BYTES)


Body = Annotated[dict[str, Any], Depends(json_body)]

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    "in": lambda a, b: isinstance(b, list) and a in b,
    "not_in": lambda a, b: isinstance(b, list) and a not in b,
    "like": lambda a, b: isinstance(a, str) and isinstance(b, str) and _like(a, b),
    "ilike": lambda a, b: isinstance(a, str) and isinstance(b, str) and _like(a.lower(), b.lower()),
    "is_null": lambda a, _b: a is None,
    "is_not_null": lambda a, _b: a is not None,
}


def restless_filter(q: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate from Flask-Restless `q={"filters": [{"name", "op", "val"}]}` (ANDed)."""
    if not q:
        return lambda _item: True
    try:
        spec = json.loads(q)
    except ValueError:
        raise InvalidInputError("q", "JSON") from None
    filters = spec.get("filters", []) if isinstance(spec, dict) else None
    if not isinstance(filters, list):
        raise InvalidInputError("q", 'an object {"filters": [...]}')
    checks: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
    for f in filters:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or f.get("op") not in OPERATORS:
            raise InvalidInputError("q.filters", f"name and op (one of {', '.join(OPERATORS)})")
        checks.append((f["name"], OPERATORS[f["op"]], f.get("val")))
    return lambda item: all(op(item.get(name), value) for name, op, value in checks)


def restless_list(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """`{"num_results", "objects", "page", "total_pages"}` (everything on one page)."""
    return {"num_results": len(objects), "objects": objects, "page": 1, "total_pages": 1}


def _like(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("%", "*").replace("_", "?"))
