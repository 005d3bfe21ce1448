"""Where `{{ name }}` references sit in SQL text: in code, in a comment, or in quotes, per dialect.

Databases disagree on what a comment or a string is (MySQL's backslash escapes and `#` comments,
PostgreSQL's nested comments and dollar quotes), so a reference is placed as every candidate
dialect reads the text: the given one, or all of them when the dialect is unknown. What a
placement means for a parameter (bound, ignored, rejected) is decided by `core.parameters`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

Placement = Literal["code", "comment", "quoted"]  # "quoted": a string literal or a quoted identifier

# Only blanks inside the braces: a newline could end a `--` comment halfway through a reference.
_REFERENCE = re.compile(r"\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?[ \t]*\}\}")


@dataclass(frozen=True)
class Reference:
    """One `{{ name }}` or `{{ name.attribute }}` in SQL; `span` is its [start, end) offsets."""

    name: str
    attribute: str | None
    span: tuple[int, int]

    def __str__(self) -> str:
        dotted = f"{self.name}.{self.attribute}" if self.attribute else self.name
        return f"{{{{ {dotted} }}}}"


def scan_references(sql: str, *, dialect: str | None = None) -> list[tuple[Reference, frozenset[Placement]]]:
    """Each reference in `sql` with where it sits for `dialect`, or for every dialect if None or unknown."""
    lexicon = _DIALECTS.get(dialect or "")
    lexicons = [lexicon] if lexicon is not None else list(_LEXICONS)
    maps = [_QuotesAndComments(sql, lexicon) for lexicon in lexicons]
    return [
        (
            Reference(match.group(1), match.group(2), match.span()),
            frozenset(places.kind_at(match.start()) for places in maps),
        )
        for match in _REFERENCE.finditer(sql)
    ]


# --- dialects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexicon:
    backslash_escapes: bool = False  # MySQL: \' inside '...' and "..."
    e_strings: bool = False  # PostgreSQL: E'...' has backslash escapes
    nested_comments: bool = False  # PostgreSQL: /* /* */ */
    dollar_quotes: bool = False  # PostgreSQL, DuckDB: $tag$...$tag$
    hash_comments: bool = False  # MySQL: # to end of line
    dash_needs_space: bool = False  # MySQL: "--" starts a comment only before a blank
    executable_comments: bool = False  # MySQL: /*! ... */ is code


_STANDARD = _Lexicon()
_POSTGRES = _Lexicon(e_strings=True, nested_comments=True, dollar_quotes=True)
_MYSQL = _Lexicon(backslash_escapes=True, hash_comments=True, dash_needs_space=True, executable_comments=True)
_LEXICONS = (_STANDARD, _POSTGRES, _MYSQL)
_DIALECTS = {"sqlite": _STANDARD, "postgresql": _POSTGRES, "duckdb": _POSTGRES, "mysql": _MYSQL}

# --- the lexer: string literals, quoted identifiers and comments ---------------------------------

_OPENER = re.compile(r"--|/\*|['\"`#]|\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_COMMENT_EDGE = re.compile(r"/\*|\*/")
_QUOTE_STOPS = {
    (quote, backslash): re.compile(
        f"{re.escape(quote)}{re.escape(quote)}" + (r"|\\[\s\S]" if backslash else "") + f"|{re.escape(quote)}"
    )
    for quote in "'\"`"
    for backslash in (False, True)
}


class _QuotesAndComments:
    """The comment and quoted regions of one SQL text as one dialect reads it."""

    def __init__(self, sql: str, lexicon: _Lexicon) -> None:
        self.sql = sql
        self.lexicon = lexicon
        self.regions: list[tuple[int, int, Placement]] = []
        position = 0
        while (match := _OPENER.search(sql, position)) is not None:
            position = self._region_from(match)
        self.starts = [start for start, _, _ in self.regions]

    def kind_at(self, offset: int) -> Placement:
        """ "code", "comment" or "quoted"."""
        index = bisect_right(self.starts, offset) - 1
        if index >= 0 and offset < self.regions[index][1]:
            return self.regions[index][2]
        return "code"

    def _region_from(self, match: re.Match[str]) -> int:
        """Record the region opened by `match`; return where scanning resumes."""
        sql, lexicon, start, opener = self.sql, self.lexicon, match.start(), match.group()
        after = sql[match.end() : match.end() + 1]
        if opener == "--":
            if lexicon.dash_needs_space and after and not (after.isspace() or after < " "):
                return start + 1
            return self._add(start, self._line_end(start), "comment")
        if opener == "#":
            return self._add(start, self._line_end(start), "comment") if lexicon.hash_comments else start + 1
        if opener == "/*":
            if lexicon.executable_comments and after == "!":
                return match.end()
            return self._add(start, self._comment_end(start), "comment")
        if opener.startswith("$"):
            if not lexicon.dollar_quotes or _continues_word(sql, start):
                return start + 1
            close = sql.find(opener, match.end())
            return self._add(start, len(sql) if close < 0 else close + len(opener), "quoted")
        prefix = sql[start - 1 : start]
        e_string = opener == "'" and prefix in ("e", "E") and not _continues_word(sql, start - 1)
        backslash = opener != "`" and (lexicon.backslash_escapes or (lexicon.e_strings and e_string))
        return self._add(start, _quote_end(sql, start, opener, backslash), "quoted")

    def _add(self, start: int, end: int, kind: Placement) -> int:
        self.regions.append((start, end, kind))
        return end

    def _line_end(self, start: int) -> int:
        end = self.sql.find("\n", start)
        return len(self.sql) if end < 0 else end

    def _comment_end(self, start: int) -> int:
        if not self.lexicon.nested_comments:
            end = self.sql.find("*/", start + 2)
            return len(self.sql) if end < 0 else end + 2
        depth = 0
        for edge in _COMMENT_EDGE.finditer(self.sql, start):
            depth += 1 if edge.group() == "/*" else -1
            if depth == 0:
                return edge.end()
        return len(self.sql)


def _quote_end(sql: str, start: int, quote: str, backslash: bool) -> int:
    """End of the literal opened at `start`: a doubled quote continues it, as does `\\x` if `backslash`."""
    stops = _QUOTE_STOPS[quote, backslash]
    position = start + 1
    while (stop := stops.search(sql, position)) is not None:
        if stop.group() == quote:
            return stop.end()
        position = stop.end()  # a doubled quote or an escaped character
    return len(sql)


def _continues_word(sql: str, offset: int) -> bool:
    """Whether the character before `offset` belongs to an identifier (then `$` or `E` opens nothing)."""
    before = sql[offset - 1 : offset]
    return bool(before) and (before.isalnum() or before in "_$")
