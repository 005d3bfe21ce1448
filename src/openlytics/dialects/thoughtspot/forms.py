"""V1 request fields: form-encoded or multipart bodies, and the values packed inside them.

The V1 client sends lists and objects as JSON text inside form fields and query parameters
(`userids=["g1","g2"]`), booleans as `"true"`/`"false"`, numbers as text (`"-1"`), sometimes
multipart parts carrying `filename=` for plain text fields, and once a Python list literal
(`str(list)`, TML import). Everything malformed is an InvalidInputError naming the field.
"""

from __future__ import annotations

import ast
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from openlytics.core.errors import InvalidInputError

MAX_FORM_BYTES = 20 * 1024 * 1024
MAX_FORM_FIELDS = 1000
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


async def form_fields(request: Request) -> dict[str, str]:
    """The body's fields as text (the last value of a repeated field); `{}` when empty."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_FORM_BYTES:
        raise InvalidInputError("body", f"at most {MAX_FORM_BYTES:,} bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == MULTIPART_TYPE:
        return await _multipart(request)
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise InvalidInputError("body", f"at most {MAX_FORM_BYTES:,} bytes")
    if not raw.strip():
        return {}
    text = _utf8(raw, "body")
    if content_type == "application/json":
        return _json_fields(text)
    parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    return {name: values[-1] for name, values in parsed.items()}


Form = Annotated[dict[str, str], Depends(form_fields)]


async def _multipart(request: Request) -> dict[str, str]:
    form = await request.form(
        max_files=MAX_FORM_FIELDS, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_BYTES
    )
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        # Simple fields arrive as file parts (`filename=` the field's name): read them as text.
        if isinstance(value, UploadFile):
            fields[name] = _utf8(await value.read(), name)
        else:
            fields[name] = value
    return fields


def _json_fields(text: str) -> dict[str, str]:
    # Some callers send the fields as a JSON object: read them as the form would carry them.
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInputError("body", "form fields (or a JSON object)") from None
    if not isinstance(value, dict):
        raise InvalidInputError("body", "form fields (or a JSON object)")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _utf8(raw: bytes, field: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(field, "not valid UTF-8") from None


# ----- values inside fields -----------------------------------------------------------------------
def text(fields: dict[str, str], name: str) -> str:
    """A required, non-empty text field."""
    value = fields.get(name)
    if value is None or not value.strip():
        raise InvalidInputError(name, "required")
    return value


def flag(value: str | None, field: str, default: bool) -> bool:
    """`"true"`/`"false"` (any case); `default` when absent or empty."""
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise InvalidInputError(field, f'"true" or "false", not {value!r}')


def integer(value: str | None, field: str, default: int) -> int:
    """A whole number sent as text; `default` when absent or empty."""
    if value is None or not value.strip():
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInputError(field, f"a whole number, not {value!r}") from None


def json_value(value: str, field: str) -> Any:
    """JSON text inside a field."""
    try:
        return json.loads(value)
    except ValueError:
        raise InvalidInputError(field, f'JSON text such as ["a", "b"], not {_excerpt(value)}') from None


def json_strings(value: str | None, field: str, *, required: bool = False) -> list[str]:
    """A JSON list of strings inside a field (`["g1","g2"]`); a bare string is a list of one."""
    if value is None or not value.strip():
        if required:
            raise InvalidInputError(field, 'required: a JSON list such as ["guid"]')
        return []
    parsed = json_value(value, field) if value.lstrip()[:1] in '["' else value.strip()
    if isinstance(parsed, str):
        return [parsed]
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise InvalidInputError(field, f"a JSON list of strings, not {_excerpt(value)}")
    return parsed


def python_list(value: str | None, field: str) -> list[Any]:
    """A list written as Python prints it (`['a', "b's"]`), or as JSON; never evaluated as code.

    `ast.literal_eval` accepts literals only (strings, numbers, lists, dicts...): a name, a call
    or an operator is refused, so nothing runs whatever the text says.
    """
    if value is None or not value.strip():
        raise InvalidInputError(field, "required: a list such as ['...']")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            raise InvalidInputError(
                field, f"a Python list literal such as ['...'] or a JSON array, not {_excerpt(value)}"
            ) from None
    if isinstance(parsed, tuple):
        parsed = list(parsed)
    if not isinstance(parsed, list):
        raise InvalidInputError(field, f"a list, not {type(parsed).__name__}")
    return parsed


def _excerpt(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")
