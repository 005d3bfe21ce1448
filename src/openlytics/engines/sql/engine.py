"""`SQLAlchemySourceEngine`: an external SQL database behind the `SourceEngine` interface.

SQLAlchemy only pools connections (with pre-ping) and inspects catalogs; statements run on the raw DBAPI
connection as an `SQLExecution`, so results stream from server-side cursors and can be cancelled with
each driver's own mechanism. `duckdb:///path` URLs are served by a non-sandboxed `DuckDBEngine`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from openlytics.core.errors import QueryFailedError, SourceUnavailableError
from openlytics.engines.base import BindValue, ColumnInfo, Execution, SourceEngine, Statement, TableInfo
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.engines.sql.drivers import CONNECT_TIMEOUT_SECONDS, dialect_for
from openlytics.engines.sql.execution import SQLExecution
from openlytics.engines.sql.types import sqlalchemy_logical_type
from openlytics.engines.urls import mask_password, parse_source_url


class SQLAlchemySourceEngine(SourceEngine):
    """An external database given by URL; one connection pool per engine."""

    def __init__(self, url: str, *, name: str | None = None) -> None:
        parsed = parse_source_url(url)
        self.dialect = parsed.kind
        self.source_name = name or mask_password(url)
        self._duckdb: DuckDBEngine | None = None
        self._engine: Engine | None = None
        if parsed.kind == "duckdb":
            assert parsed.file_path is not None
            self._duckdb = DuckDBEngine(parsed.file_path, read_only=False, sandboxed=False)
            return
        self._driver = dialect_for(parsed.kind)
        self._engine = sa.create_engine(
            parsed.sqlalchemy_url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args=self._driver.connect_args(CONNECT_TIMEOUT_SECONDS),
        )
        sa.event.listen(self._engine, "do_connect", self._driver.on_connect)

    def execute(self, statement: Statement, *, batch_size: int = 65_536) -> Execution:
        """Check out a connection and return the (not yet started) execution of `statement`."""
        if self._duckdb is not None:
            return self._duckdb.execute(statement, batch_size=batch_size)
        sql, params = self._driver_sql(statement)
        return SQLExecution(self, self._checkout(), sql, params, batch_size)

    def test_connection(self) -> None:
        """Run `SELECT 1`; raise SourceUnavailableError when the database cannot be reached."""
        if self._duckdb is not None:
            self._duckdb.test_connection()
            return
        with self.execute(Statement.plain("SELECT 1")) as execution:
            for _batch in execution.batches():
                pass

    def list_tables(self) -> list[TableInfo]:
        """Tables and views with their columns, from SQLAlchemy's inspector."""
        if self._duckdb is not None:
            return self._duckdb.list_tables()
        try:
            inspector = sa.inspect(self._sa_engine)
            return [
                table
                for schema in self._driver.listed_schemas(inspector)
                for table in _tables_of_schema(inspector, schema)
            ]
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_connect_error(exc):
                raise SourceUnavailableError(self.source_name, self._driver.message(exc.orig)) from exc
            raise QueryFailedError(self._driver.message(exc.orig)) from exc
        except SQLAlchemyError as exc:
            raise QueryFailedError(str(exc)) from exc

    def release_idle(self) -> None:
        """Close the pooled connections nobody uses (SQLAlchemy's dispose: checked-out ones are
        closed when they come back); a DuckDB file stays open."""
        if self._engine is not None:
            self._engine.dispose()

    def close(self) -> None:
        """Dispose of the connection pool (or close the DuckDB file)."""
        if self._duckdb is not None:
            self._duckdb.close()
        if self._engine is not None:
            self._engine.dispose()

    @property
    def _sa_engine(self) -> Engine:
        assert self._engine is not None
        return self._engine

    def _driver_sql(self, statement: Statement) -> tuple[str, list[Any] | None]:
        if not statement.has_binds:
            return "".join(f for f in statement.fragments if isinstance(f, str)), None
        parts: list[str] = []
        for fragment in statement.fragments:
            if isinstance(fragment, BindValue):
                parts.append(self._driver.placeholder)
            else:
                parts.append(self._driver.escape_literal_text(fragment))
        return "".join(parts), statement.bound_values()

    def _checkout(self) -> PoolProxiedConnection:
        # The pool hands out the driver's own connect errors unwrapped; SQLAlchemy's wrap some others.
        try:
            return self._sa_engine.raw_connection()
        except DBAPIError as exc:
            raise SourceUnavailableError(self.source_name, self._driver.message(exc.orig)) from exc
        except self._driver.errors as exc:
            raise SourceUnavailableError(self.source_name, self._driver.message(exc)) from exc
        except SQLAlchemyError as exc:
            raise SourceUnavailableError(self.source_name, str(exc)) from exc

    def open_side_connection(self) -> Any:
        """A fresh DBAPI connection outside the pool (MySQL's `KILL QUERY` needs one)."""
        args, kwargs = self._sa_engine.dialect.create_connect_args(self._sa_engine.url)
        return self._sa_engine.dialect.loaded_dbapi.connect(*args, **kwargs)


def _tables_of_schema(inspector: sa.Inspector, schema: str | None) -> list[TableInfo]:
    tables: list[TableInfo] = []
    listed = [("table", inspector.get_table_names(schema)), ("view", inspector.get_view_names(schema))]
    for kind, names in listed:
        for name in names:
            columns = [
                ColumnInfo(str(col["name"]), sqlalchemy_logical_type(col["type"]))
                for col in inspector.get_columns(name, schema)
            ]
            tables.append(TableInfo(name=name, schema=schema, columns=columns, kind=kind))
    return tables


def _is_connect_error(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError)
