"""Opening engines by data source kind, and a cache that keeps one open engine per data source version."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path

from sqlalchemy.engine import make_url

from openlytics.core.errors import InvalidInputError
from openlytics.engines.base import SourceEngine
from openlytics.engines.duckdb_engine import DuckDBEngine
from openlytics.engines.postgres_warehouse import PostgresWarehouseEngine, provision, role_url
from openlytics.engines.sql import SQLAlchemySourceEngine
from openlytics.settings import Settings

logger = logging.getLogger(__name__)

WAREHOUSE = "warehouse"


_KIND_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


def open_engine(
    kind: str, url: str | None, *, warehouse_file: Path | None, settings: Settings
) -> SourceEngine:
    """Open the engine of a data source: the organization's warehouse, or an external database by URL.

    The warehouse is a sandboxed DuckDB file (`warehouse_file`), or, given the role's `url`, a schema
    on the PostgreSQL warehouse, provisioned here on first use (docs/scale-out.md).
    """
    if kind == WAREHOUSE:
        if url:
            return _open_postgres_warehouse(url, settings)
        if warehouse_file is None:
            raise InvalidInputError("warehouse_file", "is required for the warehouse")
        warehouse_file.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBEngine(
            warehouse_file,
            memory_limit=settings.warehouse_memory_limit,
            threads=settings.warehouse_threads,
            sandboxed=True,
        )
    if not url:
        raise InvalidInputError("url", f"is required for a {kind} data source")
    engine = SQLAlchemySourceEngine(url)
    if _KIND_ALIASES.get(kind, kind) != engine.dialect:
        engine.close()
        raise InvalidInputError("url", f"is a {engine.dialect} URL, not {kind}")
    return engine


def _open_postgres_warehouse(url: str, settings: Settings) -> SourceEngine:
    role = make_url(url)
    if role.username is None or role.password is None:
        raise InvalidInputError("url", "the warehouse role's URL has no user or password")
    name, password = role.username, str(role.password)
    if settings.warehouse_url:  # without it the role must exist already, where its URL says
        provision(settings.warehouse_url, name, password)
        # The server's current address of the warehouse, should it have moved since.
        url = role_url(settings.warehouse_url, name, password)
    return PostgresWarehouseEngine(url, name)


class EnginePool:
    """One open engine per key, e.g. `(data_source_id, updated_at)`, shared by every thread.

    A new key for the same data source (its URL changed) opens a new engine; the caller
    `discard`s the old key so its connections close.
    """

    def __init__(self) -> None:
        self._engines: dict[Hashable, SourceEngine] = {}
        # When each engine was last handed out, while it may hold idle connections (see release_idle).
        self._last_used: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        # One lock per key being opened, so a slow connect does not block other sources.
        self._opening: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, factory: Callable[[], SourceEngine]) -> SourceEngine:
        """The engine cached under `key`, opened with `factory` the first time."""
        with self._lock:
            engine = self._engines.get(key)
            if engine is not None:
                self._last_used[key] = time.monotonic()
                return engine
            opening = self._opening.setdefault(key, threading.Lock())
        with opening:
            with self._lock:
                engine = self._engines.get(key)
            if engine is not None:
                return engine
            try:
                engine = factory()
                with self._lock:
                    self._engines[key] = engine
                    self._last_used[key] = time.monotonic()
                return engine
            finally:
                with self._lock:
                    self._opening.pop(key, None)

    def release_idle(self, idle_seconds: float) -> int:
        """Close the idle connections of engines nobody asked for in `idle_seconds` (an organization
        that went quiet keeps no connections open); how many engines were released. The engines stay
        cached and reconnect when next used."""
        cutoff = time.monotonic() - idle_seconds
        with self._lock:
            quiet = [(key, self._engines[key]) for key, used in self._last_used.items() if used <= cutoff]
            for key, _ in quiet:
                del self._last_used[key]  # until used again: released once, not on every sweep
        for key, engine in quiet:
            try:
                engine.release_idle()
            except Exception:
                logger.exception("releasing the idle connections of %r failed", key)
        return len(quiet)

    def discard(self, key: Hashable) -> None:
        """Close and forget the engine under `key`, if any."""
        with self._lock:
            engine = self._engines.pop(key, None)
            self._last_used.pop(key, None)
        if engine is not None:
            _close(engine)

    def discard_where(self, predicate: Callable[[Hashable], bool]) -> None:
        """Close and forget every engine whose key matches, e.g. all versions of one data source."""
        with self._lock:
            keys = [key for key in self._engines if predicate(key)]
            engines = [self._engines.pop(key) for key in keys]
            for key in keys:
                self._last_used.pop(key, None)
        for engine in engines:
            _close(engine)

    def close_all(self) -> None:
        """Close every engine (at shutdown)."""
        with self._lock:
            engines = list(self._engines.values())
            self._engines.clear()
            self._last_used.clear()
        for engine in engines:
            _close(engine)

    def __len__(self) -> int:
        with self._lock:
            return len(self._engines)


def _close(engine: SourceEngine) -> None:
    # One engine failing to close must not keep the others open.
    try:
        engine.close()
    except Exception:
        logger.exception("closing engine %r failed", engine)
