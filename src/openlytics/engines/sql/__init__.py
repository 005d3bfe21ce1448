"""External SQL databases (PostgreSQL, MySQL/MariaDB, SQLite files) behind the `SourceEngine` interface.

engine.py     SQLAlchemySourceEngine: connection pool, catalog listing, DuckDB files
execution.py  SQLExecution: one statement streamed from a server-side cursor, cancellable
drivers.py    DriverDialect per DBAPI driver (psycopg, pymysql, sqlite3): cursors, cancel, messages
types.py      driver type codes -> Arrow column plans; SQLAlchemy types -> logical type names
batching.py   RowBatcher: rows -> Arrow record batches with a schema fixed by the first batch
"""

from openlytics.engines.sql.engine import SQLAlchemySourceEngine

__all__ = ["SQLAlchemySourceEngine"]
