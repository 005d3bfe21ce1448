"""Text as Vega-Lite views: messages ("No data", a widget that cannot be drawn) and markdown text widgets.

An image cannot hold markup, so markdown is reduced to plain lines: headings become larger bold
lines, emphasis and links keep only their text, list items get a bullet; lines are wrapped to the width.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

BODY_FONT_SIZE = 13
HEADING_FONT_SIZES = {1: 22, 2: 18, 3: 16}
LINE_SPACING = 1.45
CHAR_WIDTH = 0.56  # of the font size: an average glyph, to wrap lines before they overflow

_INLINE_RULES = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images keep their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)\*(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_(?!\s)(.+?)_(?!\w)"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")


@dataclass(frozen=True)
class TextLine:
    """One line of plain text; `level` is the heading level, 0 for body text."""

    text: str
    level: int = 0


def strip_markdown(markdown: str) -> list[TextLine]:
    """Markdown as plain lines: headings marked by level, inline markup removed, blank lines kept."""
    lines: list[TextLine] = []
    for raw in markdown.replace("\r\n", "\n").split("\n"):
        level = 0
        text = raw.rstrip()
        if heading := _HEADING.match(text):
            level, text = len(heading.group(1)), heading.group(2)
        elif text.lstrip().startswith(">"):
            text = text.lstrip()[1:].lstrip()
        elif re.fullmatch(r"\s*([-*_])(\s*\1){2,}\s*", text):
            text = ""  # a horizontal rule
        text = _BULLET.sub(r"\1• ", text)
        for pattern, replacement in _INLINE_RULES:
            text = pattern.sub(replacement, text)
        lines.append(TextLine(text, level))
    while lines and not lines[-1].text:
        lines.pop()
    return lines


def text_spec(markdown: str, *, width: int, height: int) -> dict[str, Any]:
    """A markdown text widget as a Vega-Lite view of text marks, wrapped to `width` and cut at `height`."""
    records: list[dict[str, Any]] = []
    top = 0.0
    for line in strip_markdown(markdown):
        size = HEADING_FONT_SIZES.get(line.level, 14) if line.level else BODY_FONT_SIZE
        columns = max(8, int(width / (size * CHAR_WIDTH)))
        for piece in textwrap.wrap(line.text, columns) or [""]:
            if top + size > height:
                break
            records.append({"text": piece, "y": top, "size": size, "heading": line.level > 0})
            top += size * LINE_SPACING
    encoding = {
        "x": {"value": 0},
        "y": {"field": "y", "type": "quantitative", "scale": None},
        "size": {"field": "size", "type": "quantitative", "scale": None},
        "text": {"field": "text"},
    }
    mark = {"type": "text", "align": "left", "baseline": "top", "limit": width}
    return {
        "width": width,
        "height": height,
        "view": {"stroke": None},
        "data": {"values": records},
        "layer": [
            {
                "transform": [{"filter": {"field": "heading", "equal": heading}}],
                "mark": {**mark, "fontWeight": "bold" if heading else "normal"},
                "encoding": encoding,
            }
            for heading in (True, False)
        ],
    }


def message_spec(
    text: str, *, title: str | None = None, width: int | None = None, height: int | None = None
) -> dict[str, Any]:
    """A view that only says `text`, centred, e.g. "No data" or why a widget cannot be drawn."""
    width = width or 300
    height = height or 100
    wrapped = "\n".join(textwrap.wrap(text, max(8, int(width / (14 * CHAR_WIDTH))))) or text
    spec: dict[str, Any] = {
        "width": width,
        "height": height,
        "view": {"stroke": None},
        "data": {"values": [{"text": wrapped}]},
        "mark": {"type": "text", "fontSize": 14, "color": "#666", "limit": width, "lineBreak": "\n"},
        "encoding": {
            "x": {"value": width / 2},
            "y": {"value": height / 2},
            "text": {"field": "text"},
        },
    }
    if title:
        spec = {"title": title, **spec}
    return spec
