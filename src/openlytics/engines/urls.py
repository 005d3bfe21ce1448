"""Data source URLs: which engine a URL needs, its SQLAlchemy form, and a printable masked form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from openlytics.core.errors import InvalidInputError

SourceKind = Literal["postgresql", "mysql", "sqlite", "duckdb"]

# URL scheme (backend name, before any `+driver`) -> kind, and the driver we always use for it.
_BACKENDS: dict[str, SourceKind] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
_DRIVERS: dict[SourceKind, str] = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
# Only the drivers we ship are accepted; `postgresql+asyncpg://` would silently change behaviour.
_ACCEPTED_DRIVERS = {"", "psycopg", "psycopg2", "pymysql", "pysqlite"}


@dataclass(frozen=True)
class SourceURL:
    """A parsed data source URL: its kind, the URL with our driver, and the file of file-based sources."""

    kind: SourceKind
    sqlalchemy_url: str
    file_path: Path | None = None


def parse_source_url(url: str) -> SourceURL:
    """Parse and normalise a data source URL; raise InvalidInputError when it is malformed or unsupported."""
    parsed = _make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    kind = _BACKENDS.get(backend.lower())
    if kind is None:
        raise InvalidInputError("url", f"unsupported database {backend!r}")
    if driver.lower() not in _ACCEPTED_DRIVERS:
        raise InvalidInputError("url", f"unsupported driver {driver!r} for {kind}")
    normalised = parsed.set(drivername=_DRIVERS[kind])
    if kind in ("sqlite", "duckdb"):
        return SourceURL(kind, normalised.render_as_string(hide_password=False), _file_path(parsed))
    # A Unix-socket connection names its directory in the query (`?host=/run/postgresql`).
    if not parsed.host and "host" not in parsed.query:
        raise InvalidInputError("url", "a host is required")
    return SourceURL(kind, normalised.render_as_string(hide_password=False), None)


def mask_password(url: str) -> str:
    """The URL with its password replaced by `***`, for logs and UIs; unparsable URLs are masked whole."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "***"
    return parsed.render_as_string(hide_password=True)


def _make_url(url: str) -> URL:
    if not url or not url.strip():
        raise InvalidInputError("url", "is empty")
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise InvalidInputError("url", "is not a valid database URL") from exc


def _file_path(parsed: URL) -> Path:
    database = parsed.database or ""
    # An in-memory database would be empty on every connection and is useless as a source.
    if not database or database == ":memory:":
        raise InvalidInputError("url", "a database file path is required")
    if parsed.host:
        raise InvalidInputError("url", "file URLs take no host; use sqlite:////absolute/path")
    return Path(database)
