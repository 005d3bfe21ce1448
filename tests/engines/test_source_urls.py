"""Data source URL parsing and masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlytics.core.errors import InvalidInputError
from openlytics.engines.urls import mask_password, parse_source_url


@pytest.mark.parametrize(
    ("url", "kind", "sqlalchemy_url"),
    [
        ("postgresql://u:p@db:5432/x", "postgresql", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgres://u@db/x", "postgresql", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql", "postgresql+psycopg://u@db/x"),
        ("mysql://root@db:3306/x", "mysql", "mysql+pymysql://root@db:3306/x"),
        ("mariadb://root@db/x", "mysql", "mysql+pymysql://root@db/x"),
        ("sqlite:////data/a.sqlite", "sqlite", "sqlite:////data/a.sqlite"),
        ("duckdb:////data/a.duckdb", "duckdb", "duckdb:////data/a.duckdb"),
    ],
)
def test_urls_are_normalised_to_our_drivers(url: str, kind: str, sqlalchemy_url: str) -> None:
    parsed = parse_source_url(url)
    assert (parsed.kind, parsed.sqlalchemy_url) == (kind, sqlalchemy_url)


def test_file_urls_carry_their_path() -> None:
    assert parse_source_url("sqlite:////data/a.sqlite").file_path == Path("/data/a.sqlite")
    assert parse_source_url("postgresql://u@db/x").file_path is None


def test_passwords_with_special_characters_survive() -> None:
    assert (
        parse_source_url("postgresql://u:p%40ss@db/x").sqlalchemy_url == "postgresql+psycopg://u:p%40ss@db/x"
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        "oracle://u@db/x",
        "postgresql+asyncpg://u@db/x",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql:///x",
    ],
)
def test_malformed_or_unsupported_urls_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_source_url(url)
    assert caught.value.field == "url"


def test_mask_password_hides_only_the_password() -> None:
    assert mask_password("postgresql://user:secret@db:5432/x") == "postgresql://user:***@db:5432/x"
    assert mask_password("mysql://root@db/x") == "mysql://root@db/x"
    assert "secret" not in mask_password("garbage secret")
