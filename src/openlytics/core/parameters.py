"""Typed query parameters: definitions, value validation, and rendering SQL into a bound `Statement`.

Saved SQL refers to parameters as `{{ name }}` (ranges as `{{ name.start }}` / `{{ name.end }}`).
Every type except `raw` becomes a `BindValue`: the value never enters the SQL text, so no quoting
or escaping is involved. `raw` is spliced as text and is therefore unsafe by design (for admins).

Where a reference sits is decided by `core.sql_lexer`, per dialect. A reference inside a comment is
left alone; one inside a string literal or quoted identifier is an error, because a placeholder there
would be text to the database (and drivers that interpolate client-side would then splice the value
into a literal). Without a `dialect` a reference is bound only where every dialect agrees it sits in
code.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, NoReturn

from openlytics.core.errors import InvalidInputError
from openlytics.core.sql_lexer import Reference, scan_references
from openlytics.engines.base import BindValue, Statement

PARAMETER_TYPES = frozenset(
    {"text", "number", "date", "datetime", "date_range", "datetime_range", "enum", "query", "raw"}
)
RANGE_TYPES = frozenset({"date_range", "datetime_range"})
CHOICE_TYPES = frozenset({"enum", "query"})

DropdownValues = Callable[[int], Sequence[Any]]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DEFINITION_KEYS = frozenset({"name", "title", "type", "default", "required", "options"})
_OPTION_KEYS = {"enum": frozenset({"values", "multi"}), "query": frozenset({"query_id", "multi"})}
_RANGE_KEYS = frozenset({"start", "end"})


@dataclass(frozen=True)
class ParameterDefinition:
    """A typed parameter of a saved query; validated on construction, default stored coerced."""

    name: str
    type: str
    title: str | None = None
    default: Any = None
    required: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            _definition_error(self.name, "the name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        if not isinstance(self.type, str) or self.type not in PARAMETER_TYPES:
            known = ", ".join(sorted(PARAMETER_TYPES))
            _definition_error(self.name, f"unknown type {self.type!r} (one of {known})")
        if self.title is not None and not isinstance(self.title, str):
            _definition_error(self.name, "the title must be a string")
        if not isinstance(self.required, bool):
            _definition_error(self.name, "required must be true or false")
        object.__setattr__(self, "options", _check_options(self.name, self.type, self.options))
        if self.default is not None:
            try:
                default = _coerce(self, self.default, dropdown_values=None, trusted=True)
            except InvalidInputError as exc:
                _definition_error(self.name, f"invalid default: {exc.reason}")
            object.__setattr__(self, "default", default)

    @property
    def multi(self) -> bool:
        """Whether the parameter takes a list of values (multi-valued enum or dropdown)."""
        return bool(self.options.get("multi", False))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form accepted by `parse_definitions`."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.title is not None:
            out["title"] = self.title
        if self.default is not None:
            out["default"] = json.loads(json.dumps(self.default, default=_json_default))
        if self.options:
            out["options"] = json.loads(json.dumps(dict(self.options), default=_json_default))
        return out


def parse_definitions(raw: Any) -> list[ParameterDefinition]:
    """Validate the JSON list of parameter definitions of a query."""
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raise InvalidInputError("parameters", "expected a list of parameter definitions")
    definitions: list[ParameterDefinition] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        if isinstance(item, ParameterDefinition):
            definition = item
        elif isinstance(item, Mapping):
            name = item.get("name", f"#{position + 1}")
            unknown = sorted(str(key) for key in set(item) - _DEFINITION_KEYS)
            if unknown:
                _definition_error(name, f"unknown keys: {', '.join(unknown)}")
            if "name" not in item or "type" not in item:
                _definition_error(name, "name and type are required")
            options = item.get("options")
            definition = ParameterDefinition(
                name=item["name"],
                type=item["type"],
                title=item.get("title"),
                default=item.get("default"),
                required=item.get("required", True),
                options={} if options is None else options,
            )
        else:
            raise InvalidInputError("parameters", f"definition #{position + 1} must be an object")
        if definition.name in seen:
            _definition_error(definition.name, "the name is used twice")
        seen.add(definition.name)
        definitions.append(definition)
    return definitions


def validate_values(
    definitions: Sequence[ParameterDefinition],
    values: Mapping[str, Any] | None,
    *,
    dropdown_values: DropdownValues | None = None,
) -> dict[str, Any]:
    """Coerce the given values by their definitions, applying defaults; None for optional, unset ones."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise InvalidInputError("parameters", "expected an object mapping parameter names to values")
    by_name = {d.name: d for d in definitions}
    for name in sorted(str(key) for key in values):
        if name not in by_name:
            raise InvalidInputError(f"parameters.{name}", "not a parameter of this query")
    coerced: dict[str, Any] = {}
    for definition in definitions:
        given = values.get(definition.name)
        if given is not None:
            coerced[definition.name] = _coerce(definition, given, dropdown_values, trusted=False)
        elif definition.default is not None:
            coerced[definition.name] = definition.default
        elif definition.required:
            raise InvalidInputError(f"parameters.{definition.name}", "a value is required")
        else:
            coerced[definition.name] = None
    return coerced


def find_references(
    sql: str, *, raw_names: Collection[str] = (), dialect: str | None = None
) -> list[Reference]:
    """References in `sql` outside comments; one inside quotes is an error unless named in `raw_names`."""
    found: list[Reference] = []
    for reference, placements in scan_references(sql, dialect=dialect):
        if placements == {"comment"}:
            continue
        if placements != {"code"} and reference.name not in raw_names:
            if "quoted" in placements:
                reason = f"parameter {reference} is inside quotes; remove the quotes, values are bound"
            else:
                reason = (
                    f"parameter {reference} is inside a comment for some databases but not others; "
                    "move it out of the comment"
                )
            raise InvalidInputError("sql", reason)
        found.append(reference)
    return found


def render(
    sql: str,
    definitions: Sequence[ParameterDefinition],
    values: Mapping[str, Any] | None,
    *,
    dropdown_values: DropdownValues | None = None,
    dialect: str | None = None,
) -> Statement:
    """Validate the values and turn `sql` into text fragments and bound values (raw spliced as text)."""
    by_name = {d.name: d for d in definitions}
    raw_names = {d.name for d in definitions if d.type == "raw"}
    references = find_references(sql, raw_names=raw_names, dialect=dialect)
    for reference in references:
        _check_reference(reference, by_name.get(reference.name))
    coerced = validate_values(definitions, values, dropdown_values=dropdown_values)
    fragments: list[str | BindValue] = []
    position = 0
    for reference in references:
        start, end = reference.span
        _append_text(fragments, sql[position:start])
        _append_value(fragments, by_name[reference.name], reference, coerced[reference.name])
        position = end
    _append_text(fragments, sql[position:])
    return Statement(tuple(fragments))


def canonical_values(values: Mapping[str, Any] | None) -> str:
    """A stable JSON encoding of coerced values (sorted keys, dates in ISO form) for cache keys."""
    return json.dumps(
        dict(values or {}), sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default
    )


# --- definitions -------------------------------------------------------------------------------


def _definition_error(name: object, reason: str) -> NoReturn:
    raise InvalidInputError("parameters", f"parameter {name!r}: {reason}")


def _check_options(name: str, kind: str, options: Any) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        _definition_error(name, "options must be an object")
    allowed = _OPTION_KEYS.get(kind, frozenset())
    unknown = sorted(str(key) for key in set(options) - allowed)
    if unknown:
        _definition_error(name, f"unknown options for type {kind}: {', '.join(unknown)}")
    checked = dict(options)
    if not isinstance(checked.get("multi", False), bool):
        _definition_error(name, "options.multi must be true or false")
    if kind == "enum":
        choices = checked.get("values")
        if not isinstance(choices, list | tuple) or not choices:
            _definition_error(name, "options.values must be a non-empty list")
        if not all(_is_scalar(choice) for choice in choices):
            _definition_error(name, "options.values must be strings or numbers")
        checked["values"] = list(choices)
    if kind == "query":
        query_id = checked.get("query_id")
        if not isinstance(query_id, int) or isinstance(query_id, bool):
            _definition_error(name, "options.query_id must be an integer")
    return checked


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int)


# --- values ------------------------------------------------------------------------------------


def _coerce(
    definition: ParameterDefinition, value: Any, dropdown_values: DropdownValues | None, *, trusted: bool
) -> Any:
    """Coerce one given value; `trusted` (a default set by the query's author) skips dropdown lookups."""
    field_name = f"parameters.{definition.name}"
    kind = definition.type
    if kind in CHOICE_TYPES:
        return _coerce_choice(definition, value, dropdown_values, trusted=trusted)
    if kind in RANGE_TYPES:
        return _coerce_range(field_name, kind.removesuffix("_range"), value)
    return _coerce_scalar(field_name, kind, value)


def _coerce_scalar(field_name: str, kind: str, value: Any) -> Any:
    if kind == "text":
        if not isinstance(value, str):
            raise InvalidInputError(field_name, _expected("a string", value))
        return value
    if kind == "raw":
        if not isinstance(value, str):
            raise InvalidInputError(field_name, _expected("a string", value))
        if "\x00" in value:
            raise InvalidInputError(field_name, "raw SQL must not contain NUL characters")
        return value
    if kind == "number":
        return _coerce_number(field_name, value)
    if kind == "date":
        return _coerce_date(field_name, value)
    return _coerce_datetime(field_name, value)


def _coerce_number(field_name: str, value: Any) -> int | float:
    number: int | float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _INTEGER.fullmatch(text):
                number = int(text)
            elif _DECIMAL.fullmatch(text):
                number = float(text)
        except ValueError:  # more digits than int() converts
            number = None
    if number is None or (isinstance(number, float) and not math.isfinite(number)):
        raise InvalidInputError(field_name, _expected("a finite number", value))
    return number


def _coerce_date(field_name: str, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInputError(field_name, _expected("an ISO date (YYYY-MM-DD)", value))


def _coerce_datetime(field_name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInputError(field_name, _expected("an ISO-8601 date and time", value))


def _coerce_range(field_name: str, kind: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.count("--") == 1:
        start, end = value.split("--")
        value = {"start": start, "end": end}
    if not isinstance(value, Mapping) or set(value) != _RANGE_KEYS:
        raise InvalidInputError(field_name, _expected('{"start", "end"} or "start--end"', value))
    bounds = {key: _coerce_scalar(f"{field_name}.{key}", kind, value[key]) for key in ("start", "end")}
    try:
        ordered = bounds["start"] <= bounds["end"]
    except TypeError:  # an aware and a naive datetime
        raise InvalidInputError(field_name, "start and end must both have a time zone, or neither") from None
    if not ordered:
        raise InvalidInputError(field_name, "start must not be after end")
    return bounds


def _coerce_choice(
    definition: ParameterDefinition,
    value: Any,
    dropdown_values: DropdownValues | None,
    *,
    trusted: bool,
) -> Any:
    field_name = f"parameters.{definition.name}"
    if definition.multi:
        if not isinstance(value, list | tuple) or not value:
            raise InvalidInputError(field_name, _expected("a non-empty list of values", value))
        items = list(value)
    else:
        items = [value]
    for item in items:
        if not _is_scalar(item):
            raise InvalidInputError(field_name, _expected("a string or number", item))
    if definition.type == "query" and trusted:
        chosen = items
    else:
        allowed = _allowed_values(definition, dropdown_values)
        chosen = []
        for item in items:
            if str(item) not in allowed:
                raise InvalidInputError(field_name, f"{_short(item)} is not one of the allowed values")
            chosen.append(allowed[str(item)])
    return chosen if definition.multi else chosen[0]


def _allowed_values(
    definition: ParameterDefinition, dropdown_values: DropdownValues | None
) -> dict[str, Any]:
    """Allowed values by their string form (so 3 and "3" match); the first of equal forms wins."""
    if definition.type == "enum":
        choices: Sequence[Any] = definition.options["values"]
    elif dropdown_values is None:
        raise ValueError(f"dropdown_values is needed to check parameter {definition.name!r}")
    else:
        choices = dropdown_values(definition.options["query_id"])
    allowed: dict[str, Any] = {}
    for choice in choices:
        if choice is not None:
            allowed.setdefault(str(choice), choice)
    return allowed


def _expected(what: str, value: Any) -> str:
    return f"expected {what}, got {type(value).__name__} {_short(value)}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_default(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)  # Decimal, UUID, ... from dropdown queries


# --- rendering ---------------------------------------------------------------------------------


def _check_reference(reference: Reference, definition: ParameterDefinition | None) -> None:
    if definition is None:
        raise InvalidInputError("sql", f"parameter {reference} is not defined")
    if definition.type in RANGE_TYPES:
        if reference.attribute not in ("start", "end"):
            start, end = (
                Reference(definition.name, "start", (0, 0)),
                Reference(definition.name, "end", (0, 0)),
            )
            raise InvalidInputError("sql", f"parameter {reference} is a range; use {start} and {end}")
    elif reference.attribute is not None:
        raise InvalidInputError("sql", f"parameter {reference}: only ranges have .start and .end")


def _append_text(fragments: list[str | BindValue], text: str) -> None:
    if not text:
        return
    if fragments and isinstance(fragments[-1], str):
        fragments[-1] += text
    else:
        fragments.append(text)


def _append_value(
    fragments: list[str | BindValue], definition: ParameterDefinition, reference: Reference, value: Any
) -> None:
    if definition.type == "raw":
        _append_text(fragments, value or "")
    elif value is None:
        fragments.append(BindValue(None))  # an optional parameter without a value: NULL
    elif definition.type in RANGE_TYPES:
        fragments.append(BindValue(value[reference.attribute]))
    elif definition.multi:
        for position, item in enumerate(value):
            if position:
                _append_text(fragments, ", ")
            fragments.append(BindValue(item))
    else:
        fragments.append(BindValue(value))
