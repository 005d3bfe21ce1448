"""The metadata database handle: engine, sessions, and migrations to head."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _normalise_url(url: str) -> str:
    # Plain postgresql:// would pick psycopg2, which we do not install.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """Owns the SQLAlchemy engine of the metadata store."""

    def __init__(self, url: str) -> None:
        self.url = _normalise_url(url)
        kwargs: dict[str, Any] = {"future": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # The unit of work this thread (or task) is inside, if any: see unit_of_work().
        self._unit: ContextVar[UnitOfWork | None] = ContextVar(f"openlytics-uow-{id(self)}", default=None)
        self._named_locks: dict[str, threading.Lock] = {}
        self._named_locks_guard = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is SQLite (single-node embedded mode)."""
        return self.url.startswith("sqlite")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error.

        Inside `unit_of_work()` it is the unit's session instead: flushed, not committed, so every
        service called within the unit writes into one transaction."""
        unit = self._unit.get()
        if unit is not None:
            yield unit.session
            unit.session.flush()
            return
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock `name` across every thread of this process and, on PostgreSQL, across every
        process sharing the store (a session-level advisory lock on a connection of its own, which
        PostgreSQL releases if the process dies). For critical sections that outlive one transaction,
        e.g. a load into one dataset."""
        with self._named_locks_guard:
            local = self._named_locks.setdefault(name, threading.Lock())
        with local:
            if self.is_sqlite:  # one process serves an SQLite store
                yield
                return
            key = advisory_key(name)
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
                try:
                    yield
                finally:
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        connection.commit()
                    except Exception:
                        connection.invalidate()  # closing the session releases the lock
                        raise

    def lock_in(self, session: Session, name: str) -> None:
        """Serialize `session`'s transaction with every other one that locks `name`, in any process
        (PostgreSQL: a transaction-level advisory lock, released at commit or rollback). SQLite
        serializes writers by itself; callers keep their in-process lock for readers-then-writers."""
        if not self.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})

    @contextmanager
    def unit_of_work(self, *, commit: bool = True) -> Iterator[UnitOfWork]:
        """One transaction for everything done inside: every `session()` opened in this thread
        joins it. Committed at the end when `commit` (and nothing raised), else rolled back; an
        error anywhere rolls back all of it. Units do not nest."""
        if self._unit.get() is not None:
            raise RuntimeError("units of work do not nest")
        with self.sessionmaker() as session:
            unit = UnitOfWork(session)
            token = self._unit.set(unit)
            try:
                yield unit
                if commit and not unit.discarded:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
            finally:
                self._unit.reset(token)
        if commit and not unit.discarded:
            for callback in unit.after_commit_callbacks:
                callback()

    def current_unit(self) -> UnitOfWork | None:
        """The unit of work this thread is inside, if any."""
        return self._unit.get()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision.

        On PostgreSQL, processes starting together (API processes, schedulers) take turns: a
        transaction-level advisory lock makes the second one wait and then find nothing to do."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock key (a signed bigint) for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


# The advisory lock key migrations hold (any constant bigint; "openlytics-migrate" as ASCII digits).
_MIGRATION_LOCK = 0x6F6C2D6D69677261


class UnitOfWork:
    """The shared session of `Database.unit_of_work()` and what to do once it is committed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.discarded = False
        self.after_commit_callbacks: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the unit is committed (never if it is rolled back)."""
        self.after_commit_callbacks.append(callback)

    def discard(self) -> None:
        """Roll the unit back at its end instead of committing it."""
        self.discarded = True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
