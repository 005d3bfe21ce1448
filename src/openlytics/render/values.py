"""Cell values as the renderers need them: numbers, instants, and short display text."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CELL_TEXT_LIMIT = 60


def as_number(value: Any) -> float | int | None:
    """The value as a number (decimals often arrive as strings), or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal | str):
        try:
            number = float(Decimal(str(value).strip()))
        except (InvalidOperation, ValueError):
            return None
        return number if math.isfinite(number) else None
    return None


def epoch_ms(value: Any) -> Any:
    """An ISO date or date-time as milliseconds since the epoch; naive times are read as UTC.

    Browsers read a date-only string as UTC but a date-time without offset as local time; converting
    here gives one reading everywhere. A value that does not parse is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def looks_like_datetime(values: list[Any]) -> bool:
    """Whether string values carry a time of day, not only a date."""
    return any(isinstance(v, str) and ("T" in v or ":" in v) for v in values)


def format_number(value: float | int, decimals: int | None = None) -> str:
    """A number with thousands separators; floats keep at most `decimals` (default 2) places."""
    if isinstance(value, int) and decimals is None:
        return f"{value:,}"
    places = 2 if decimals is None else decimals
    text = f"{value:,.{places}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_cell(value: Any, limit: int = CELL_TEXT_LIMIT) -> str:
    """A cell as short display text: empty for null, true/false, long text cut with an ellipsis."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        # Two places as the client shows them, but a tiny non-zero number keeps its digits.
        small = value != 0 and abs(value) < 0.01
        text = f"{value:.3g}" if small or not math.isfinite(value) else format_number(value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
