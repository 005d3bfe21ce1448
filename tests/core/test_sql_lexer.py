"""Where `{{ name }}` references sit in SQL text (code, comment, quotes), as each dialect reads it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openlytics.core.sql_lexer import Reference, scan_references

DIALECTS = ("sqlite", "postgresql", "duckdb", "mysql")


def placement_in(sql: str, dialect: str) -> str:
    [(_, placements)] = scan_references(sql, dialect=dialect)
    [only] = placements
    return only


def test_scan_finds_each_reference_with_its_name_attribute_and_span() -> None:
    sql = "a {{x}} b {{\tz.start }} c {{ 1x }} {{\nx}}"
    assert [reference for reference, _ in scan_references(sql)] == [
        Reference("x", None, (2, 7)),
        Reference("z", "start", (10, 23)),
    ]
    assert str(Reference("z", "start", (0, 0))) == "{{ z.start }}"
    assert str(Reference("x", None, (0, 0))) == "{{ x }}"


@pytest.mark.parametrize(
    ("sql", "sqlite", "postgresql", "mysql"),
    [
        ("SELECT {{ x }}", "code", "code", "code"),
        ("SELECT '{{ x }}'", "quoted", "quoted", "quoted"),
        ('SELECT "{{ x }}"', "quoted", "quoted", "quoted"),
        ("SELECT `{{ x }}`", "quoted", "quoted", "quoted"),
        ("SELECT 'unterminated {{ x }}", "quoted", "quoted", "quoted"),
        ("SELECT 'it''s' || {{ x }}", "code", "code", "code"),
        ("SELECT '-- /* #' || {{ x }}", "code", "code", "code"),
        # Backslash escapes: MySQL always, PostgreSQL in E'' strings only (not after an identifier).
        ("SELECT 'a\\' {{ x }} '", "code", "code", "quoted"),
        ('SELECT "a\\" {{ x }} "', "code", "code", "quoted"),
        ("SELECT E'\\' {{ x }} '", "code", "quoted", "quoted"),
        ("SELECT somee'\\' {{ x }} '", "code", "code", "quoted"),
        # Dollar quotes: PostgreSQL and DuckDB, tagged or not, but not inside an identifier.
        ("SELECT $$ {{ x }} $$", "code", "quoted", "code"),
        ("SELECT $tag$ $$ {{ x }} $tag$", "code", "quoted", "code"),
        ("SELECT $$ unterminated {{ x }}", "code", "quoted", "code"),
        ("SELECT a$b$ + {{ x }}", "code", "code", "code"),
        ("SELECT a$$$ {{ x }} $$", "code", "code", "code"),
        # Line comments: MySQL wants a blank after "--" and also reads "#".
        ("SELECT 1 -- {{ x }}", "comment", "comment", "comment"),
        ("SELECT 1 --\t{{ x }}", "comment", "comment", "comment"),
        ("SELECT 1--{{ x }}", "comment", "comment", "code"),
        ("SELECT 1 --\n{{ x }}", "code", "code", "code"),
        ("SELECT data #>> {{ x }}", "code", "code", "comment"),
        # Block comments: PostgreSQL nests them, MySQL runs /*! ... */ as code.
        ("SELECT /* {{ x }} */", "comment", "comment", "comment"),
        ("SELECT /* unterminated {{ x }}", "comment", "comment", "comment"),
        ("SELECT /* /* */ {{ x }} */", "code", "comment", "code"),
        ("SELECT /*! {{ x }} */", "comment", "comment", "code"),
        ("SELECT /* ' */ {{ x }}", "code", "code", "code"),
    ],
)
def test_each_dialect_places_a_reference_as_it_reads_the_text(
    sql: str, sqlite: str, postgresql: str, mysql: str
) -> None:
    assert placement_in(sql, "sqlite") == sqlite
    assert placement_in(sql, "postgresql") == postgresql
    assert placement_in(sql, "duckdb") == postgresql
    assert placement_in(sql, "mysql") == mysql


@pytest.mark.parametrize("dialect", [None, "", "oracle"])
def test_without_a_known_dialect_a_reference_has_every_dialects_placement(dialect: str | None) -> None:
    [(_, placements)] = scan_references("SELECT $$ {{ x }} $$", dialect=dialect)
    assert placements == {"code", "quoted"}


TOKENS = ["'", '"', "`", "\\", "--", "- ", "/*", "*/", "!", "#", "$", "$$", "$t$", "E", "a", " ", "\n"]
SQL = st.lists(st.sampled_from([*TOKENS, "{{ x }}", "{{ y.end }}"]), max_size=30).map("".join)


@given(sql=SQL)
def test_no_dialect_placements_are_the_union_of_each_dialects(sql: str) -> None:
    per_dialect = {dialect: scan_references(sql, dialect=dialect) for dialect in DIALECTS}
    combined = scan_references(sql)
    for dialect_scan in per_dialect.values():
        assert [reference for reference, _ in dialect_scan] == [reference for reference, _ in combined]
        assert all(len(placements) == 1 for _, placements in dialect_scan)
    for position, (_, placements) in enumerate(combined):
        assert placements == frozenset().union(*(scan[position][1] for scan in per_dialect.values()))
