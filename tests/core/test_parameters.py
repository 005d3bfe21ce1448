"""Typed query parameters: definitions, coercion, where references sit, and rendering to binds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openlytics.core.errors import InvalidInputError
from openlytics.core.parameters import (
    PARAMETER_TYPES,
    ParameterDefinition,
    Reference,
    canonical_values,
    find_references,
    parse_definitions,
    render,
    validate_values,
)
from openlytics.engines.base import BindValue, Statement


def one(type_: str, **extra: Any) -> list[ParameterDefinition]:
    return parse_definitions([{"name": "p", "type": type_, **extra}])


def coerce(type_: str, value: Any, **extra: Any) -> Any:
    return validate_values(one(type_, **extra), {"p": value})["p"]


def rejects(type_: str, value: Any, **extra: Any) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        coerce(type_, value, **extra)
    assert caught.value.field == "parameters.p"
    return caught.value


def texts(statement: Statement) -> str:
    return "".join(f for f in statement.fragments if isinstance(f, str))


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE people (name TEXT)")
    connection.executemany("INSERT INTO people VALUES (?)", [("ann",), ("bob",), ("cy",)])
    yield connection
    connection.close()


def run_sqlite(connection: sqlite3.Connection, statement: Statement) -> list[tuple[Any, ...]]:
    sql = "".join("?" if isinstance(f, BindValue) else f for f in statement.fragments)
    return connection.execute(sql, statement.bound_values()).fetchall()


# --- definitions -------------------------------------------------------------------------------


def test_parameter_types_are_the_documented_ones() -> None:
    assert {
        "text",
        "number",
        "date",
        "datetime",
        "date_range",
        "datetime_range",
        "enum",
        "query",
        "raw",
    } == PARAMETER_TYPES


def test_parse_definitions_reads_every_type_and_round_trips_through_to_dict() -> None:
    raw = [
        {"name": "t", "type": "text", "title": "Text", "default": "x"},
        {"name": "n", "type": "number", "default": "42", "required": False},
        {"name": "d", "type": "date", "default": "2024-01-31"},
        {"name": "dt", "type": "datetime", "default": "2024-01-31T10:00:00Z"},
        {"name": "dr", "type": "date_range", "default": "2024-01-01--2024-01-31"},
        {"name": "tr", "type": "datetime_range", "default": {"start": "2024-01-01", "end": "2024-01-02"}},
        {"name": "e", "type": "enum", "options": {"values": ["a", "b"], "multi": True}, "default": ["b"]},
        {"name": "q", "type": "query", "options": {"query_id": 7}},
        {"name": "r", "type": "raw"},
    ]
    definitions = parse_definitions(raw)
    assert [d.name for d in definitions] == ["t", "n", "d", "dt", "dr", "tr", "e", "q", "r"]
    assert definitions[1].default == 42
    assert definitions[2].default == date(2024, 1, 31)
    assert definitions[3].default == datetime(2024, 1, 31, 10, tzinfo=UTC)
    assert definitions[4].default == {"start": date(2024, 1, 1), "end": date(2024, 1, 31)}
    assert definitions[6].multi
    assert parse_definitions([d.to_dict() for d in definitions]) == definitions
    assert definitions[2].to_dict() == {
        "name": "d",
        "type": "date",
        "required": True,
        "default": "2024-01-31",
    }


def test_parse_definitions_accepts_none_as_no_parameters() -> None:
    assert parse_definitions(None) == []


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"name": "x", "type": "text"}, "list"),
        (["x"], "must be an object"),
        ([{"name": "1x", "type": "text"}], "identifier"),
        ([{"name": "a-b", "type": "text"}], "identifier"),
        ([{"name": "x", "type": "text"}, {"name": "x", "type": "number"}], "used twice"),
        ([{"name": "x", "type": "blob"}], "unknown type"),
        ([{"name": "x", "type": ["text"]}], "unknown type"),
        ([{"name": "x"}], "name and type are required"),
        ([{"name": "x", "type": "text", "colour": "red"}], "unknown keys: colour"),
        ([{"name": "x", "type": "text", "required": "yes"}], "required"),
        ([{"name": "x", "type": "text", "title": 5}], "title"),
        ([{"name": "x", "type": "text", "options": {"values": ["a"]}}], "unknown options"),
        ([{"name": "x", "type": "enum"}], "options.values"),
        ([{"name": "x", "type": "enum", "options": {"values": []}}], "options.values"),
        ([{"name": "x", "type": "enum", "options": {"values": [[1]]}}], "strings or numbers"),
        ([{"name": "x", "type": "enum", "options": {"values": ["a"], "multi": 1}}], "multi"),
        ([{"name": "x", "type": "query", "options": {}}], "query_id"),
        ([{"name": "x", "type": "query", "options": {"query_id": "7"}}], "query_id"),
        ([{"name": "x", "type": "query", "options": {"query_id": True}}], "query_id"),
        ([{"name": "x", "type": "number", "default": "many"}], "invalid default"),
        ([{"name": "x", "type": "enum", "options": {"values": ["a"]}, "default": "z"}], "invalid default"),
    ],
)
def test_parse_definitions_rejects_bad_definitions_naming_the_parameter(raw: Any, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_definitions(raw)
    assert caught.value.field == "parameters"
    assert fragment in caught.value.reason
    if isinstance(raw, list) and isinstance(raw[0], dict) and "name" in raw[0]:
        assert repr(raw[0]["name"]) in caught.value.reason


def test_definitions_built_directly_are_validated_too() -> None:
    with pytest.raises(InvalidInputError):
        ParameterDefinition("x", "enum")
    assert ParameterDefinition("x", "number", default="3").default == 3


# --- values, type by type ----------------------------------------------------------------------


def test_text_is_a_string_kept_exactly() -> None:
    assert coerce("text", " it's -- ; %s \x00 ") == " it's -- ; %s \x00 "
    assert coerce("text", "") == ""
    assert "expected a string, got int 5" in rejects("text", 5).reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), (2.5, 2.5), ("42", 42), (" -3 ", -3), ("3.5", 3.5), (".5", 0.5), ("1e3", 1000.0)],
)
def test_number_accepts_numbers_and_numeric_strings(value: Any, expected: float) -> None:
    result = coerce("number", value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "value", [True, False, float("nan"), float("inf"), "nan", "inf", "1e400", "abc", "", "1_000", "٤٢", [1]]
)
def test_number_rejects_bools_non_finite_and_non_numeric_values(value: Any) -> None:
    reason = rejects("number", value).reason
    assert reason.startswith("expected a finite number, got ")


def test_number_rejects_absurdly_long_digit_strings() -> None:
    rejects("number", "9" * 5000)


def test_date_accepts_iso_strings_and_dates() -> None:
    assert coerce("date", "2024-02-29") == date(2024, 2, 29)
    assert coerce("date", date(2024, 1, 1)) == date(2024, 1, 1)


@pytest.mark.parametrize(
    "value", ["2024-02-30", "yesterday", "2024-01-31T10:00", 20240131, datetime(2024, 1, 1)]
)
def test_date_rejects_anything_else(value: Any) -> None:
    assert "expected an ISO date" in rejects("date", value).reason


def test_datetime_accepts_iso_8601_keeping_the_time_zone_as_given() -> None:
    assert coerce("datetime", "2024-01-31T10:00:00Z") == datetime(2024, 1, 31, 10, tzinfo=UTC)
    offset = timezone(timedelta(hours=-5))
    assert coerce("datetime", "2024-01-31T10:00:00-05:00") == datetime(2024, 1, 31, 10, tzinfo=offset)
    naive = coerce("datetime", "2024-01-31 10:00")
    assert naive == datetime(2024, 1, 31, 10) and naive.tzinfo is None
    assert coerce("datetime", date(2024, 1, 31)) == datetime(2024, 1, 31)


@pytest.mark.parametrize("value", ["soon", "2024-01-31T25:00", 1706695200])
def test_datetime_rejects_anything_else(value: Any) -> None:
    assert "expected an ISO-8601" in rejects("datetime", value).reason


def test_date_range_accepts_an_object_or_the_start_dash_dash_end_form() -> None:
    expected = {"start": date(2024, 1, 1), "end": date(2024, 1, 31)}
    assert coerce("date_range", {"start": "2024-01-01", "end": "2024-01-31"}) == expected
    assert coerce("date_range", "2024-01-01--2024-01-31") == expected
    assert coerce("date_range", "2024-01-01--2024-01-01")["start"] == date(2024, 1, 1)


def test_datetime_range_parses_offsets_in_the_string_form() -> None:
    value = coerce("datetime_range", "2024-01-01T00:00:00-05:00--2024-01-02T00:00:00Z")
    assert value["start"] == datetime(2024, 1, 1, 5, tzinfo=UTC)
    assert value["end"] == datetime(2024, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("type_", "value", "fragment"),
    [
        ("date_range", {"start": "2024-02-01", "end": "2024-01-01"}, "start must not be after end"),
        ("date_range", "2024-02-01--2024-01-01", "start must not be after end"),
        ("date_range", {"start": "2024-01-01"}, "expected"),
        ("date_range", {"start": "2024-01-01", "end": "2024-01-02", "step": 1}, "expected"),
        ("date_range", "2024-01-01", "expected"),
        ("date_range", {"start": "2024-01-01", "end": "later"}, "expected an ISO date"),
        ("datetime_range", {"start": "2024-01-01T00:00Z", "end": "2024-01-02T00:00"}, "time zone"),
    ],
)
def test_ranges_reject_bad_shapes_and_reversed_bounds(type_: str, value: Any, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        coerce(type_, value)
    assert caught.value.field.startswith("parameters.p")
    assert fragment in caught.value.reason


ENUM = {"options": {"values": ["red", "green", 3]}}
MULTI = {"options": {"values": ["red", "green", 3], "multi": True}}


def test_enum_accepts_an_allowed_value_comparing_as_strings() -> None:
    assert coerce("enum", "green", **ENUM) == "green"
    assert coerce("enum", "3", **ENUM) == 3  # the option's own value is bound


@pytest.mark.parametrize("value", ["blue", ["red"], {"red": 1}, 3.5, True])
def test_enum_rejects_values_that_are_not_options(value: Any) -> None:
    rejects("enum", value, **ENUM)


def test_multi_enum_takes_a_non_empty_list_of_allowed_values() -> None:
    assert coerce("enum", ["green", 3], **MULTI) == ["green", 3]
    assert "not one of the allowed values" in rejects("enum", ["red", "blue"], **MULTI).reason
    assert "non-empty list" in rejects("enum", [], **MULTI).reason
    assert "non-empty list" in rejects("enum", "red", **MULTI).reason


def test_query_dropdown_allows_the_callbacks_values_compared_as_strings() -> None:
    asked: list[int] = []

    def dropdown_values(query_id: int) -> list[Any]:
        asked.append(query_id)
        return [1, 2, Decimal("3"), date(2024, 1, 1), None]

    definitions = one("query", options={"query_id": 9})
    assert validate_values(definitions, {"p": "2"}, dropdown_values=dropdown_values) == {"p": 2}
    assert validate_values(definitions, {"p": 3}, dropdown_values=dropdown_values) == {"p": Decimal("3")}
    assert validate_values(definitions, {"p": "2024-01-01"}, dropdown_values=dropdown_values)["p"] == date(
        2024, 1, 1
    )
    assert asked == [9, 9, 9]
    with pytest.raises(InvalidInputError, match="not one of the allowed values"):
        validate_values(definitions, {"p": "4"}, dropdown_values=dropdown_values)
    with pytest.raises(InvalidInputError, match="not one of the allowed values"):
        validate_values(definitions, {"p": "None"}, dropdown_values=dropdown_values)


def test_multi_query_dropdown_checks_every_value() -> None:
    definitions = one("query", options={"query_id": 9, "multi": True})
    assert validate_values(definitions, {"p": ["a", "b"]}, dropdown_values=lambda _: ["a", "b", "c"]) == {
        "p": ["a", "b"]
    }
    with pytest.raises(InvalidInputError):
        validate_values(definitions, {"p": ["a", "z"]}, dropdown_values=lambda _: ["a", "b"])


def test_query_dropdown_needs_the_callback_to_check_a_given_value() -> None:
    with pytest.raises(ValueError, match="dropdown_values"):
        validate_values(one("query", options={"query_id": 9}), {"p": "a"})


def test_query_dropdown_default_is_the_authors_choice_and_not_looked_up() -> None:
    definitions = one("query", options={"query_id": 9}, default="a")
    assert validate_values(definitions, {}) == {"p": "a"}


def test_raw_is_a_string_without_nul_bytes() -> None:
    assert coerce("raw", "ORDER BY 1") == "ORDER BY 1"
    assert "NUL" in rejects("raw", "1\x00").reason
    rejects("raw", 1)


# --- which values, defaults --------------------------------------------------------------------


def test_unknown_parameter_names_are_rejected() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_values(one("text"), {"p": "x", "q": "y"})
    assert caught.value.field == "parameters.q"


def test_values_must_be_an_object() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_values(one("text"), ["x"])  # type: ignore[arg-type]
    assert caught.value.field == "parameters"


def test_a_required_value_without_default_must_be_given() -> None:
    for values in (None, {}, {"p": None}):
        with pytest.raises(InvalidInputError) as caught:
            validate_values(one("text"), values)
        assert caught.value.field == "parameters.p"
        assert caught.value.reason == "a value is required"


def test_defaults_apply_when_no_value_is_given_and_are_overridden_by_a_value() -> None:
    definitions = one("number", default="5")
    assert validate_values(definitions, None) == {"p": 5}
    assert validate_values(definitions, {"p": None}) == {"p": 5}
    assert validate_values(definitions, {"p": 6}) == {"p": 6}


def test_an_optional_parameter_without_value_is_none_and_binds_null() -> None:
    definitions = one("number", required=False)
    assert validate_values(definitions, {}) == {"p": None}
    assert render("SELECT {{ p }}", definitions, {}).fragments == ("SELECT ", BindValue(None))


# --- where references sit ----------------------------------------------------------------------


def test_find_references_accepts_optional_whitespace_and_range_attributes() -> None:
    sql = "a {{x}} b {{  y  }} c {{\tz.start }}"
    assert find_references(sql) == [
        Reference("x", None, (2, 7)),
        Reference("y", None, (10, 19)),
        Reference("z", "start", (22, 35)),
    ]


def test_text_that_is_not_a_reference_is_left_alone() -> None:
    assert find_references("SELECT '{' || '}' , {{ 1x }}, {{ a b }}, {{\nx}}, {x}") == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 -- {{ x }}\n",
        "SELECT 1 -- {{ x }}",
        "SELECT /* {{ x }} */ 1",
        "SELECT /* unterminated {{ x }}",
        "SELECT 1 /* ' */ -- '{{ x }}",
    ],
)
def test_references_in_comments_are_ignored(sql: str) -> None:
    assert find_references(sql) == []
    assert render(sql, [], {}).fragments == (sql,)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '{{ x }}'",
        "SELECT 'it''s {{ x }}'",
        'SELECT "{{ x }}"',
        "SELECT `{{x}}`",
        "SELECT 'unterminated {{ x }}",
        "SELECT '%{{ x }}%'",
    ],
)
def test_references_in_quotes_are_rejected(sql: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        find_references(sql)
    assert caught.value.field == "sql"
    assert caught.value.reason == "parameter {{ x }} is inside quotes; remove the quotes, values are bound"


def test_references_after_closed_quotes_and_comments_count() -> None:
    sql = "SELECT 'it''s' || \"col\" /* c */ || {{ x }} -- done"
    assert [r.name for r in find_references(sql)] == ["x"]


def test_raw_references_may_sit_inside_quotes() -> None:
    assert [r.name for r in find_references("SELECT '{{ r }}'", raw_names={"r"})] == ["r"]


@pytest.mark.parametrize(
    ("sql", "bound_in"),
    [
        # MySQL reads a backslash escape: the reference is inside the string there.
        ("SELECT 'a\\' {{ x }} '", {"sqlite", "postgresql", "duckdb"}),
        # PostgreSQL and DuckDB read a dollar-quoted string.
        ("SELECT $$ {{ x }} $$", {"sqlite", "mysql"}),
        # E'' strings have backslash escapes in PostgreSQL.
        ("SELECT E'\\' {{ x }} '", {"sqlite"}),
    ],
)
def test_dialects_that_quote_a_reference_reject_it(sql: str, bound_in: set[str]) -> None:
    for dialect in ("sqlite", "postgresql", "duckdb", "mysql"):
        if dialect in bound_in:
            assert [r.name for r in find_references(sql, dialect=dialect)] == ["x"]
        else:
            with pytest.raises(InvalidInputError, match="inside quotes"):
                find_references(sql, dialect=dialect)
    with pytest.raises(InvalidInputError, match="inside quotes"):
        find_references(sql)


@pytest.mark.parametrize(
    ("sql", "commented_in"),
    [
        ("SELECT data #>> {{ x }}", {"mysql"}),  # PostgreSQL's JSON operator, MySQL's comment
        ("SELECT 1--{{ x }}", {"sqlite", "postgresql", "duckdb"}),  # MySQL wants a blank after --
        ("SELECT /* /* */ {{ x }} */", {"postgresql", "duckdb"}),  # nested comments
    ],
)
def test_a_reference_commented_out_in_only_some_dialects_needs_the_dialect(
    sql: str, commented_in: set[str]
) -> None:
    for dialect in ("sqlite", "postgresql", "duckdb", "mysql"):
        names = [r.name for r in find_references(sql, dialect=dialect)]
        assert names == ([] if dialect in commented_in else ["x"])
    with pytest.raises(InvalidInputError, match="comment for some databases"):
        find_references(sql)


def test_mysql_executable_comments_are_code() -> None:
    assert [r.name for r in find_references("SELECT /*! {{ x }} */", dialect="mysql")] == ["x"]


def test_an_unknown_dialect_is_checked_as_strictly_as_no_dialect() -> None:
    with pytest.raises(InvalidInputError):
        find_references("SELECT $$ {{ x }} $$", dialect="oracle")


def test_dollar_signs_inside_identifiers_open_no_string() -> None:
    assert [r.name for r in find_references("SELECT a$b$ + {{ x }}", dialect="postgresql")] == ["x"]


# --- rendering ---------------------------------------------------------------------------------


def test_render_binds_each_type_and_keeps_the_text_byte_for_byte() -> None:
    definitions = parse_definitions(
        [
            {"name": "name", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "period", "type": "date_range"},
            {"name": "colours", "type": "enum", "options": {"values": ["red", "green"], "multi": True}},
        ]
    )
    sql = (
        "SELECT * FROM t WHERE name LIKE {{name}} AND n > {{ n }} -- {{ nope }}\n"
        "AND d BETWEEN {{ period.start }} AND {{ period.end }} AND c IN ({{ colours }}) AND x % 2 = 0"
    )
    values = {"name": "%a%", "n": "10", "period": "2024-01-01--2024-01-31", "colours": ["green", "red"]}
    statement = render(sql, definitions, values)
    assert statement.fragments == (
        "SELECT * FROM t WHERE name LIKE ",
        BindValue("%a%"),
        " AND n > ",
        BindValue(10),
        " -- {{ nope }}\nAND d BETWEEN ",
        BindValue(date(2024, 1, 1)),
        " AND ",
        BindValue(date(2024, 1, 31)),
        " AND c IN (",
        BindValue("green"),
        ", ",
        BindValue("red"),
        ") AND x % 2 = 0",
    )
    assert statement.display_sql().startswith("SELECT * FROM t WHERE name LIKE :1 AND n > :2")


def test_render_splices_raw_values_as_text_even_inside_quotes() -> None:
    definitions = parse_definitions([{"name": "col", "type": "raw"}, {"name": "v", "type": "text"}])
    statement = render(
        "SELECT {{ col }}, '{{col}}' FROM t WHERE a = {{ v }}", definitions, {"col": "a", "v": "b"}
    )
    assert statement.fragments == ("SELECT a, 'a' FROM t WHERE a = ", BindValue("b"))


def test_render_repeats_a_value_for_each_reference() -> None:
    statement = render("{{ v }} {{ v }}", TEXT_V, {"v": "x"})
    assert statement.fragments == (BindValue("x"), " ", BindValue("x"))


def test_render_rejects_references_to_undefined_parameters() -> None:
    with pytest.raises(InvalidInputError) as caught:
        render("SELECT {{ missing }}", one("text"), {"p": "x"})
    assert (caught.value.field, caught.value.reason) == ("sql", "parameter {{ missing }} is not defined")


def test_render_accepts_definitions_that_are_not_referenced() -> None:
    assert render("SELECT 1", one("text"), {"p": "x"}) == Statement(("SELECT 1",))


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT {{ r }}", "is a range; use {{ r.start }} and {{ r.end }}"),
        ("SELECT {{ r.middle }}", "is a range"),
        ("SELECT {{ t.start }}", "only ranges have .start and .end"),
    ],
)
def test_render_checks_range_attributes(sql: str, fragment: str) -> None:
    definitions = parse_definitions([{"name": "r", "type": "date_range"}, {"name": "t", "type": "text"}])
    values = {"r": "2024-01-01--2024-01-02", "t": "x"}
    with pytest.raises(InvalidInputError) as caught:
        render(sql, definitions, values)
    assert caught.value.field == "sql"
    assert fragment in caught.value.reason


def test_render_validates_values() -> None:
    with pytest.raises(InvalidInputError) as caught:
        render("SELECT {{ p }}", one("number"), {"p": "ten"})
    assert caught.value.field == "parameters.p"


# --- cache keys --------------------------------------------------------------------------------


def test_canonical_values_is_stable_and_writes_dates_in_iso_form() -> None:
    first = {"b": [1, "x"], "a": {"start": date(2024, 1, 1), "end": date(2024, 1, 2)}, "c": None}
    second = {"c": None, "a": {"end": date(2024, 1, 2), "start": date(2024, 1, 1)}, "b": [1, "x"]}
    encoded = canonical_values(first)
    assert encoded == canonical_values(second)
    assert encoded == '{"a":{"end":"2024-01-02","start":"2024-01-01"},"b":[1,"x"],"c":null}'
    assert canonical_values({"t": datetime(2024, 1, 1, tzinfo=UTC)}) == '{"t":"2024-01-01T00:00:00+00:00"}'
    assert canonical_values({"d": Decimal("3.10")}) == '{"d":"3.10"}'
    assert canonical_values(None) == "{}"
    assert canonical_values({"x": "é\x00"}) == '{"x":"\\u00e9\\u0000"}'


# --- properties: values never reach the SQL text -----------------------------------------------

# SQL text without quotes, comment markers, dollars or braces: every reference in it is in code.
PLAIN_SQL_ALPHABET = "SELECT fromwhe0123 ,()=<>+*;%?:.\n\t_"
PLAIN_SQL = st.text(alphabet=PLAIN_SQL_ALPHABET, max_size=20)
REFERENCE = st.sampled_from(["{{ v }}", "{{v}}", "{{\tv  }}"])
TEMPLATE = st.tuples(st.lists(st.tuples(PLAIN_SQL, REFERENCE), max_size=5), PLAIN_SQL)
HOSTILE = st.one_of(
    st.text(),
    st.sampled_from(["'", "''", '"', "--", "/*", "*/", ";", "%", "%s", "?", ":1", "\x00", "{{ v }}", "\\"]),
)
TEXT_V = parse_definitions([{"name": "v", "type": "text"}])


@given(template=TEMPLATE, value=HOSTILE)
def test_text_values_are_always_bound_never_spliced(template: Any, value: str) -> None:
    pairs, tail = template
    sql = "".join(text + reference for text, reference in pairs) + tail
    statement = render(sql, TEXT_V, {"v": value})
    assert texts(statement) == "".join(text for text, _ in pairs) + tail
    assert statement.bound_values() == [value] * len(pairs)


@given(
    choices=st.lists(st.text(min_size=1), min_size=1, max_size=6, unique=True),
    data=st.data(),
    template=TEMPLATE,
)
def test_multi_values_bind_once_per_value_per_reference(choices: list[str], data: Any, template: Any) -> None:
    definitions = parse_definitions(
        [{"name": "v", "type": "enum", "options": {"values": choices, "multi": True}}]
    )
    chosen = data.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4))
    pairs, tail = template
    sql = "".join(text + reference for text, reference in pairs) + tail
    statement = render(sql, definitions, {"v": chosen})
    assert statement.bound_values() == chosen * len(pairs)
    separators = ", " * (len(chosen) - 1) * len(pairs)
    assert len(texts(statement)) == len("".join(text for text, _ in pairs) + tail + separators)
    assert all(
        not isinstance(f, str) or set(f) <= set(PLAIN_SQL_ALPHABET + ", ") for f in statement.fragments
    )


@given(sql=st.text())
def test_find_references_on_any_text_either_answers_or_says_why(sql: str) -> None:
    for dialect in (None, "sqlite", "postgresql", "mysql"):
        try:
            references = find_references(sql, dialect=dialect)
        except InvalidInputError as error:
            assert error.field == "sql"
        else:
            for reference in references:
                start, end = reference.span
                assert sql[start:end].startswith("{{") and sql[start:end].endswith("}}")


# --- a real database ---------------------------------------------------------------------------

HOSTILE_VALUES = [
    "'; DROP TABLE people; --",
    "1); DROP TABLE people; --",
    "' OR '1'='1",
    '"; DROP TABLE people; --',
    "*/ DROP TABLE people; /*",
    "%s %d %(v)s ? :1 $1",
    "nul\x00byte",
    "{{ v }}",
    "é 字 🎉",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_text_comes_back_unchanged_from_sqlite(db: sqlite3.Connection, value: str) -> None:
    statement = render("SELECT {{ v }} AS v", TEXT_V, {"v": value})
    assert run_sqlite(db, statement) == [(value,)]
    assert db.execute("SELECT count(*) FROM people").fetchone() == (3,)


def test_a_drop_table_in_a_value_drops_nothing(db: sqlite3.Connection) -> None:
    definitions = parse_definitions([{"name": "name", "type": "text"}])
    sql = "SELECT name FROM people WHERE name = {{ name }} -- {{ ignored }}\n"
    for value in HOSTILE_VALUES:
        assert run_sqlite(db, render(sql, definitions, {"name": value})) == []
    assert run_sqlite(db, render(sql, definitions, {"name": "bob"})) == [("bob",)]
    assert db.execute("SELECT count(*) FROM people").fetchone() == (3,)


def test_a_multi_enum_expands_into_an_in_list(db: sqlite3.Connection) -> None:
    definitions = parse_definitions(
        [{"name": "names", "type": "enum", "options": {"values": ["ann", "bob", "cy"], "multi": True}}]
    )
    statement = render(
        "SELECT name FROM people WHERE name IN ({{ names }}) ORDER BY name",
        definitions,
        {"names": ["cy", "ann"]},
    )
    assert run_sqlite(db, statement) == [("ann",), ("cy",)]


def test_a_date_range_filters_in_sqlite(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE events (day TEXT)")
    db.executemany("INSERT INTO events VALUES (?)", [("2024-01-01",), ("2024-01-15",), ("2024-02-01",)])
    definitions = parse_definitions([{"name": "period", "type": "date_range"}])
    sql = "SELECT day FROM events WHERE day BETWEEN {{ period.start }} AND {{ period.end }} ORDER BY day"
    statement = render(sql, definitions, {"period": "2024-01-01--2024-01-31"})
    assert statement.bound_values() == [date(2024, 1, 1), date(2024, 1, 31)]
    # sqlite3's own date adapter is deprecated; bind the ISO text the column holds.
    iso = Statement(
        tuple(BindValue(f.value.isoformat()) if isinstance(f, BindValue) else f for f in statement.fragments)
    )
    assert run_sqlite(db, iso) == [("2024-01-01",), ("2024-01-15",)]


@given(value=st.text())
def test_any_text_round_trips_through_sqlite(value: str) -> None:
    connection = sqlite3.connect(":memory:")
    try:
        assert run_sqlite(connection, render("SELECT {{ v }} AS v", TEXT_V, {"v": value})) == [(value,)]
    finally:
        connection.close()
