"""Printing SDK objects and result rows as Rich tables or JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from openlytics.cli._common import console

MAX_CELL_WIDTH = 40


def plain(value: Any) -> Any:
    """A JSON-ready version of an SDK model, list or value (`raw` fields dropped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print a model, list or value as indented JSON."""
    console().print_json(json.dumps(plain(value), default=str))


def cell(value: Any) -> Text:
    """One table cell: None dimmed, dates ISO, long values cut with an ellipsis."""
    if value is None:
        return Text("null", style="dim")
    if isinstance(value, enum.Enum):
        value = value.name
    if isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, dt.date | dt.time):
        value = value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(plain(value), default=str)
    return Text(str(value))


def print_models(items: Iterable[Any], columns: Sequence[str], *, title: str | None = None) -> None:
    """Print models as a table with the given attribute columns."""
    table = Table(title=title, show_lines=False)
    for name in columns:
        # Wrapping lets Rich fit wide tables; with no_wrap everywhere it squeezes the first column away.
        table.add_column(name, overflow="ellipsis", max_width=MAX_CELL_WIDTH, no_wrap=name == "id")
    count = 0
    for item in items:
        table.add_row(*(cell(getattr(item, name)) for name in columns))
        count += 1
    console().print(table)
    console().print(f"{count} {'row' if count == 1 else 'rows'}", style="dim")


def print_model(item: Any) -> None:
    """Print one model as a two-column field/value table."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for field in dataclasses.fields(item):
        if field.name != "raw":
            table.add_row(field.name, cell(getattr(item, field.name)))
    console().print(table)


def print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], total: int, *, max_rows: int) -> None:
    """Print result rows, at most `max_rows` of them, with a caption giving the full row count."""
    table = Table(show_lines=False)
    for name in columns:
        # Wrapping lets Rich fit wide tables; with no_wrap everywhere it squeezes the first column away.
        table.add_column(name, overflow="ellipsis", max_width=MAX_CELL_WIDTH, no_wrap=name == "id")
    shown = rows[:max_rows]
    for row in shown:
        table.add_row(*(cell(row.get(name)) for name in columns))
    if total > len(shown):
        table.add_row(*(Text("…", style="dim") for _ in columns))
        summary = f"{len(shown):,} of {total:,} rows shown (use --output FILE or --format csv for all)"
    else:
        summary = f"{total:,} {'row' if total == 1 else 'rows'}"
    console().print(table)
    console().print(summary, style="dim", soft_wrap=True)
