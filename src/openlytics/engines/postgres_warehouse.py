"""The organization's warehouse on PostgreSQL: one schema and one role per organization.

The role (`ol_<32 hex digits of the organization's uuid>`) logs in with a generated password, owns
the schema of the same name, has it as its `search_path` and is given nothing else, so an
organization's SQL reaches neither another organization's schema nor the metadata store. User SQL
and the dataset code both connect as that role. `provision` (idempotent) creates or repairs the role
and schema through the administrator's URL; `deprovision` drops them. See docs/scale-out.md.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from openlytics.core.errors import InvalidInputError, SourceUnavailableError
from openlytics.engines.base import (
    BindValue,
    ColumnInfo,
    Execution,
    SourceEngine,
    Statement,
    TableInfo,
    quote_identifier,
)
from openlytics.engines.sql import SQLAlchemySourceEngine
from openlytics.engines.sql.drivers import CONNECT_TIMEOUT_SECONDS
from openlytics.engines.sql.types import sqlalchemy_logical_type
from openlytics.engines.urls import mask_password, parse_source_url

if TYPE_CHECKING:
    from openlytics.engines.postgres_tables import PostgresWarehouseTables

NAME_PREFIX = "ol_"

# Only names and passwords we generate are ever spliced into DDL (which takes no bound values).
_NAME = re.compile(r"^ol_[0-9a-f]{32}$")
_PASSWORD = re.compile(r"^[0-9a-f]{32,128}$")

_ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION"
_ROLE_ATTRIBUTES_BY_CREATEROLE = "LOGIN NOCREATEDB NOCREATEROLE NOINHERIT"

_CATALOG = (
    "SELECT t.table_name, t.table_type, c.column_name, c.data_type "
    "FROM information_schema.tables t JOIN information_schema.columns c "
    "ON c.table_schema = t.table_schema AND c.table_name = t.table_name "
    "WHERE t.table_schema = "
)
_CATALOG_ORDER = " ORDER BY t.table_name, c.ordinal_position"


def warehouse_name(org_uuid: uuid.UUID | str) -> str:
    """The schema and role of an organization's warehouse: `ol_<32 hex digits>`."""
    return NAME_PREFIX + uuid.UUID(str(org_uuid)).hex


def new_password() -> str:
    """A random role password (hex: nothing to escape inside a SQL literal)."""
    return secrets.token_hex(32)


def role_url(admin_url: str, name: str, password: str) -> str:
    """The administrator's URL with the role as user: how the organization connects."""
    _check(name, password)
    url = make_url(parse_source_url(admin_url).sqlalchemy_url)
    return url.set(username=name, password=password).render_as_string(hide_password=False)


def provision(admin_url: str, name: str, password: str) -> None:
    """Create the role and its schema, or reset the password of an existing role (idempotent)."""
    _check(name, password)
    role = quote_identifier(name)
    with _admin(admin_url) as conn:
        # Two servers opening the same warehouse at once would race on CREATE ROLE.
        conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": _lock_key(name)})
        try:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
            superuser = conn.execute(
                sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
            if not exists:
                conn.exec_driver_sql(f"CREATE ROLE {role} WITH {_ROLE_ATTRIBUTES} PASSWORD '{password}'")
            else:
                # Only a superuser may even restate NOSUPERUSER / NOREPLICATION.
                attributes = _ROLE_ATTRIBUTES if superuser else _ROLE_ATTRIBUTES_BY_CREATEROLE
                conn.exec_driver_sql(f"ALTER ROLE {role} WITH {attributes} PASSWORD '{password}'")
            if not superuser:
                # CREATE SCHEMA ... AUTHORIZATION needs an administrator that may act as the role.
                conn.exec_driver_sql(f"GRANT {role} TO CURRENT_USER")
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {role} AUTHORIZATION {role}")
            conn.exec_driver_sql(f"ALTER SCHEMA {role} OWNER TO {role}")
            conn.exec_driver_sql(f"ALTER ROLE {role} SET search_path = {role}")
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": _lock_key(name)})


def deprovision(admin_url: str, name: str) -> None:
    """Drop the schema (with everything in it) and the role; missing ones are ignored."""
    _check(name, None)
    role = quote_identifier(name)
    with _admin(admin_url) as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :n"), {"n": name}
        )
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {role} CASCADE")
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
            conn.exec_driver_sql(f"DROP OWNED BY {role} CASCADE")
            conn.exec_driver_sql(f"DROP ROLE {role}")


class PostgresWarehouseEngine(SourceEngine):
    """An organization's warehouse: its schema, reached as its role (`url` is the role's URL)."""

    dialect = "postgresql"

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self._sql = SQLAlchemySourceEngine(url, name=f"warehouse {schema}")

    def execute(self, statement: Statement, *, batch_size: int = 65_536) -> Execution:
        """Start running `statement` as the organization's role (cancel: PostgreSQL's own)."""
        return self._sql.execute(statement, batch_size=batch_size)

    def test_connection(self) -> None:
        """Run `SELECT 1` as the role."""
        self._sql.test_connection()

    def list_tables(self) -> list[TableInfo]:
        """Tables and views of the organization's schema (unqualified), without the hidden row column."""
        from openlytics.engines.postgres_tables import ROW_COLUMN

        statement = Statement((_CATALOG, BindValue(self.schema), _CATALOG_ORDER))
        with self._sql.execute(statement) as execution:
            rows = pa.Table.from_batches(list(execution.batches()), schema=execution.schema).to_pylist()
        tables: dict[str, TableInfo] = {}
        for row in rows:
            name, column = str(row["table_name"]), str(row["column_name"])
            info = tables.get(name)
            if info is None:
                kind = "view" if str(row["table_type"]).upper() == "VIEW" else "table"
                info = tables[name] = TableInfo(name=name, schema=None, kind=kind)
            if column != ROW_COLUMN:
                info.columns.append(ColumnInfo(column, _logical_type(str(row["data_type"]))))
        return list(tables.values())

    def warehouse_tables(self) -> PostgresWarehouseTables:
        """Table management for trusted server code (datasets): see `WarehouseTables`."""
        from openlytics.engines.postgres_tables import PostgresWarehouseTables

        return PostgresWarehouseTables(self.url, self.schema)

    def release_idle(self) -> None:
        """Close the idle connections of both pools (queries' and dataset tables')."""
        self._sql.release_idle()
        self.warehouse_tables().close()

    def close(self) -> None:
        """Dispose of the connection pools."""
        self._sql.close()
        self.warehouse_tables().close()

    def __repr__(self) -> str:
        return f"PostgresWarehouseEngine({mask_password(self.url)!r}, {self.schema!r})"


def _logical_type(data_type: str) -> str:
    """A logical type name of an `information_schema.columns.data_type`."""
    if data_type.upper() == "ARRAY":
        return "list"
    type_class: Any = ischema_names.get(data_type.lower())
    return sqlalchemy_logical_type(type_class()) if type_class is not None else data_type.lower()


def _check(name: str, password: str | None) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInputError("warehouse", f"{name!r} is not a warehouse name (ol_ + 32 hex digits)")
    if password is not None and not _PASSWORD.fullmatch(password):
        raise InvalidInputError("warehouse", "the role password must be generated hex digits")


def _lock_key(name: str) -> str:
    return f"openlytics warehouse {name}"


@contextmanager
def _admin(admin_url: str) -> Iterator[sa.Connection]:
    """An AUTOCOMMIT connection through the administrator's URL, closed afterwards."""
    if not admin_url:
        raise SourceUnavailableError("warehouse", "no PostgreSQL warehouse URL is configured")
    engine = sa.create_engine(
        parse_source_url(admin_url).sqlalchemy_url,
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "openlytics"},
    )
    try:
        with engine.connect() as conn:
            yield conn
    except DBAPIError as exc:
        raise SourceUnavailableError("warehouse", _message(exc)) from exc
    finally:
        engine.dispose()


def _message(exc: DBAPIError) -> str:
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return str(primary) if primary else " ".join(str(orig or exc).split())
