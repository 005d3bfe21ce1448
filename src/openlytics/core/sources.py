"""Data sources: the org's embedded warehouse and external databases added by SQLAlchemy URL."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, without_hidden
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.core.pagination import Page, paginate
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox
from openlytics.engines.base import SourceEngine, TableInfo
from openlytics.engines.urls import SourceURL, mask_password, parse_source_url
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Organization

WAREHOUSE_KIND = "warehouse"
WAREHOUSE_NAME = "Warehouse"

# Builds an engine for (kind, plaintext url or None, warehouse file or None).
EngineFactory = Callable[[str, str | None, Path | None], SourceEngine]


class EngineCache(Protocol):
    """The subset of `engines.registry.EnginePool` this service needs."""

    def get(self, key: Any, factory: Callable[[], SourceEngine]) -> SourceEngine:
        """The cached engine for `key`, created by `factory` if absent."""

    def discard(self, key: Any) -> None:
        """Close and forget the engine for `key`."""


class DataSourceService:
    """CRUD, connection tests, schema browsing and engines for data sources."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        engines: EngineCache,
        open_engine: EngineFactory,
        warehouse_dir: Path,
        allowed_file_dirs: list[Path],
    ) -> None:
        self.db = db
        self.box = box
        self.engines = engines
        self.open_engine = open_engine
        self.warehouse_dir = warehouse_dir
        self.allowed_file_dirs = allowed_file_dirs
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    def ensure_warehouse(self, s: Session, org: Organization) -> DataSource:
        """Give an organization its embedded warehouse source (called when it is created)."""
        existing = s.scalar(
            select(DataSource).where(DataSource.org_id == org.id, DataSource.kind == WAREHOUSE_KIND)
        )
        if existing is not None:
            return existing
        source = DataSource(org_id=org.id, name=WAREHOUSE_NAME, kind=WAREHOUSE_KIND, is_default=True)
        s.add(source)
        s.flush()
        return source

    def warehouse_file(self, org_uuid: str) -> Path:
        """The DuckDB file of an organization's warehouse."""
        return self.warehouse_dir / f"{org_uuid}.duckdb"

    # ----- CRUD --------------------------------------------------------------------------
    def list(self, principal: Principal, *, page: int = 1, per_page: int = 25) -> Page[DataSource]:
        """Data sources of the caller's organization."""
        principal.require(Action.READ, "data sources")
        with self.db.session() as s:
            stmt = select(DataSource).where(DataSource.org_id == principal.org_id).order_by(DataSource.id)
            stmt = without_hidden(stmt, self.sharing, principal, "data_source", DataSource.id)
            return paginate(s, stmt, page, per_page)

    def get(self, principal: Principal, source_id: int) -> DataSource:
        """One data source."""
        principal.require(Action.READ, f"data source {source_id}")
        with self.db.session() as s:
            return self._get(s, principal, source_id)

    def default(self, principal: Principal) -> DataSource:
        """The organization's default source (its warehouse)."""
        with self.db.session() as s:
            source = s.scalar(
                select(DataSource)
                .where(DataSource.org_id == principal.org_id)
                .order_by(DataSource.is_default.desc(), DataSource.id)
                .limit(1)
            )
            if source is None:
                raise NotFoundError("data source", "default")
            return source

    def create(
        self, principal: Principal, *, name: str, url: str, options: dict[str, Any] | None = None
    ) -> DataSource:
        """Add an external database (admins)."""
        principal.require(Action.MANAGE_SOURCES, "data sources")
        name = _name(name)
        parsed = self._check_url(url)
        with self.db.session() as s:
            self._unique_name(s, principal.org_id, name)
            source = DataSource(
                org_id=principal.org_id,
                name=name,
                kind=parsed.kind,
                url_encrypted=self.box.encrypt(url),
                options=_options(options or {}),
            )
            s.add(source)
            s.flush()
            return source

    def update(
        self,
        principal: Principal,
        source_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> DataSource:
        """Change a source's name, URL or options (admins)."""
        principal.require(Action.MANAGE_SOURCES, f"data source {source_id}")
        with self.db.session() as s:
            source = self._get(s, principal, source_id, "MODIFY")
            old_key = _cache_key(source)
            if name is not None and name != source.name:
                self._unique_name(s, principal.org_id, _name(name))
                source.name = name
            if url is not None:
                if source.kind == WAREHOUSE_KIND:
                    raise InvalidInputError("url", "the embedded warehouse has no URL")
                source.kind = self._check_url(url).kind
                source.url_encrypted = self.box.encrypt(url)
                source.cache_generation += 1
            if options is not None:
                source.options = _options(options)
            s.flush()
        self.engines.discard(old_key)
        return source

    def delete(self, principal: Principal, source_id: int) -> None:
        """Remove an external source with its queries and results (admins)."""
        principal.require(Action.MANAGE_SOURCES, f"data source {source_id}")
        with self.db.session() as s:
            source = self._get(s, principal, source_id, "MODIFY")
            if source.kind == WAREHOUSE_KIND:
                raise ConflictError("the embedded warehouse cannot be deleted")
            key = _cache_key(source)
            s.delete(source)
        self.engines.discard(key)

    def invalidate_cache(self, principal: Principal, source_id: int) -> DataSource:
        """Make every cached result of this source stale."""
        principal.require(Action.WRITE, f"data source {source_id}")
        with self.db.session() as s:
            source = self._get(s, principal, source_id)
            source.cache_generation += 1
            return source

    # ----- engines -----------------------------------------------------------------------
    def engine(self, source: DataSource) -> SourceEngine:
        """The (cached) engine of a source record."""
        return self.engines.get(_cache_key(source), lambda: self._open(source))

    def _open(self, source: DataSource) -> SourceEngine:
        if source.kind == WAREHOUSE_KIND:
            with self.db.session() as s:
                org = s.get(Organization, source.org_id)
                assert org is not None
                path = self.warehouse_file(str(org.uuid))
            path.parent.mkdir(parents=True, exist_ok=True)
            return self.open_engine(WAREHOUSE_KIND, None, path)
        assert source.url_encrypted is not None
        return self.open_engine(source.kind, self.box.decrypt(source.url_encrypted), None)

    def test(self, principal: Principal, source_id: int) -> None:
        """Connect and run a trivial statement; SourceUnavailableError when that fails."""
        source = self.get(principal, source_id)
        self.engine(source).test_connection()

    def schema(self, principal: Principal, source_id: int) -> builtins.list[TableInfo]:
        """Tables and columns of a source."""
        source = self.get(principal, source_id)
        if principal.is_query_key:
            principal.require(Action.RUN_ADHOC, f"schema of data source {source_id}")
        return self.engine(source).list_tables()

    def masked_url(self, source: DataSource) -> str | None:
        """The source's URL with its password hidden."""
        if source.url_encrypted is None:
            return None
        return mask_password(self.box.decrypt(source.url_encrypted))

    def timeout(self, source: DataSource) -> float | None:
        """The per-source statement time limit, if set."""
        value = (source.options or {}).get("timeout")
        return float(value) if value else None

    # ----- helpers -----------------------------------------------------------------------
    def _get(self, s: Session, principal: Principal, source_id: int, mode: str = "READ_ONLY") -> DataSource:
        source = s.get(DataSource, source_id)
        if source is None or source.org_id != principal.org_id:
            raise NotFoundError("data source", source_id)
        require_access(self.sharing, principal, "data_source", source.id, mode)
        return source

    def _unique_name(self, s: Session, org_id: int, name: str) -> None:
        clash = s.scalar(select(DataSource).where(DataSource.org_id == org_id, DataSource.name == name))
        if clash is not None:
            raise ConflictError(f"a data source named {name!r} exists", field="name")

    def _check_url(self, url: str) -> SourceURL:
        parsed = parse_source_url(url)
        if parsed.file_path is not None:
            path = Path(parsed.file_path).resolve()
            if not any(path.is_relative_to(d) for d in self.allowed_file_dirs):
                allowed = ", ".join(str(d) for d in self.allowed_file_dirs)
                raise InvalidInputError("url", f"database files must live under: {allowed}")
        return parsed


SQL_DIALECTS = {
    WAREHOUSE_KIND: "duckdb",
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "sqlite": "sqlite",
}


def sql_dialect(kind: str) -> str | None:
    """The SQL dialect spoken by a source kind (for lexing parameter references)."""
    return SQL_DIALECTS.get(kind)


def _cache_key(source: DataSource) -> tuple[int, str]:
    # Fernet tokens differ on every encryption, so a changed URL always means a new key.
    return (source.id, source.url_encrypted or WAREHOUSE_KIND)


def _name(name: str) -> str:
    if not name or not name.strip():
        raise InvalidInputError("name", "must not be empty")
    if len(name) > 255:
        raise InvalidInputError("name", "at most 255 characters")
    return name.strip()


def _options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - {"timeout"}
    if unknown:
        raise InvalidInputError("options", f"unknown options: {', '.join(sorted(unknown))}")
    timeout = options.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise InvalidInputError("options.timeout", "a positive number of seconds")
    return dict(options)
