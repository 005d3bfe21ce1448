"""Data sources: the org's warehouse and external databases added by SQLAlchemy URL.

The warehouse is a DuckDB file per organization, or a schema and role of its own on the PostgreSQL
warehouse (`OPENLYTICS_WAREHOUSE_URL`); which one is recorded in the source's `options["engine"]`
(missing: DuckDB), and the role's URL, with its generated password, in `url_encrypted`.
"""

from __future__ import annotations

import builtins
import re
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
from openlytics.engines.base import BindValue, SourceEngine, Statement, TableInfo
from openlytics.engines.postgres_warehouse import new_password, role_url, warehouse_name
from openlytics.engines.urls import SourceURL, mask_password, parse_source_url
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Organization

WAREHOUSE_KIND = "warehouse"
WAREHOUSE_NAME = "Warehouse"
#: Engines an organization's warehouse may run on (`options["engine"]` of its source).
WAREHOUSE_ENGINES = ("duckdb", "postgresql")

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
        warehouse_url: str = "",
    ) -> None:
        self.db = db
        self.box = box
        self.engines = engines
        self.open_engine = open_engine
        self.warehouse_dir = warehouse_dir
        self.allowed_file_dirs = allowed_file_dirs
        # The PostgreSQL warehouse's administrator URL; empty: new organizations get DuckDB.
        self.warehouse_url = warehouse_url
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    def ensure_warehouse(self, s: Session, org: Organization, engine: str | None = None) -> DataSource:
        """Give an organization its warehouse source (called when it is created): on `engine`
        ("duckdb" or "postgresql"; default: PostgreSQL when its URL is configured)."""
        existing = s.scalar(
            select(DataSource).where(DataSource.org_id == org.id, DataSource.kind == WAREHOUSE_KIND)
        )
        if existing is not None:
            return existing
        engine = engine or self.default_warehouse_engine()
        if engine not in WAREHOUSE_ENGINES:
            raise InvalidInputError("warehouse", f"one of {', '.join(WAREHOUSE_ENGINES)}")
        url_encrypted = None
        if engine == "postgresql":
            if not self.warehouse_url:
                raise InvalidInputError("warehouse", "no PostgreSQL warehouse is configured on this server")
            # The role and schema are created when the engine first opens (`engines.registry`).
            url = role_url(self.warehouse_url, warehouse_name(org.uuid), new_password())
            url_encrypted = self.box.encrypt(url)
        source = DataSource(
            org_id=org.id,
            name=WAREHOUSE_NAME,
            kind=WAREHOUSE_KIND,
            is_default=True,
            url_encrypted=url_encrypted,
            options={"engine": engine},
        )
        s.add(source)
        s.flush()
        return source

    def organizations_on_embedded_warehouse(self) -> builtins.list[int]:
        """Ids of the organizations whose warehouse is a DuckDB file (one process may open it)."""
        with self.db.session() as s:
            sources = s.scalars(select(DataSource).where(DataSource.kind == WAREHOUSE_KIND)).all()
            return [source.org_id for source in sources if warehouse_engine(source) == "duckdb"]

    def default_warehouse_engine(self) -> str:
        """The engine of new organizations' warehouses: PostgreSQL when configured, else DuckDB."""
        return "postgresql" if self.warehouse_url else "duckdb"

    def sql_dialect(self, source: DataSource) -> str | None:
        """The SQL dialect a source speaks ("duckdb", "postgresql", ...), without opening its engine."""
        if source.kind == WAREHOUSE_KIND:
            return warehouse_engine(source)
        return sql_dialect(source.kind)

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
            old_options = dict(source.options or {})
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
                changed = _options(options, warehouse=source.kind == WAREHOUSE_KIND)
                if source.kind == WAREHOUSE_KIND:  # a fact of the warehouse, not a setting
                    changed["engine"] = warehouse_engine(old_options)
                source.options = changed
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
        if source.kind == WAREHOUSE_KIND and warehouse_engine(source) == "postgresql":
            # The registry provisions the role and schema (idempotent) before connecting as the role.
            assert source.url_encrypted is not None
            return self.open_engine(WAREHOUSE_KIND, self.box.decrypt(source.url_encrypted), None)
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
        """The source's URL with its password hidden; none for the warehouse (its role stays private)."""
        if source.url_encrypted is None or source.kind == WAREHOUSE_KIND:
            return None
        return mask_password(self.box.decrypt(source.url_encrypted))

    def timeout(self, source: DataSource) -> float | None:
        """The per-source statement time limit, if set."""
        value = (source.options or {}).get("timeout")
        return float(value) if value else None

    def warehouse_bytes(self, org_id: int) -> int:
        """How much the organization's warehouse stores: its DuckDB file (and log), or the total
        size of its PostgreSQL schema's tables with their indexes and TOAST."""
        with self.db.session() as s:
            source = s.scalar(
                select(DataSource).where(DataSource.org_id == org_id, DataSource.kind == WAREHOUSE_KIND)
            )
            org = s.get(Organization, org_id)
        if org is None:
            raise NotFoundError("organization", org_id)
        if source is None or warehouse_engine(source) == "duckdb":
            path = self.warehouse_file(str(org.uuid))
            return sum(_file_size(p) for p in (path, path.with_name(path.name + ".wal")))
        statement = Statement(
            (
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS size FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname = ",
                BindValue(warehouse_name(org.uuid)),
            )
        )
        with self.engine(source).execute(statement) as execution:
            rows = [row for batch in execution.batches() for row in batch.to_pylist()]
        return int(rows[0]["size"]) if rows else 0

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
    """The SQL dialect spoken by an external source kind; the warehouse's is its source's
    (`DataSourceService.sql_dialect`)."""
    return SQL_DIALECTS.get(kind)


def warehouse_engine(source: DataSource | dict[str, Any]) -> str:
    """The engine of a warehouse source, or of its options: "duckdb" (also when unrecorded) or
    "postgresql"."""
    options = source if isinstance(source, dict) else source.options
    return str((options or {}).get("engine") or "duckdb")


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _cache_key(source: DataSource) -> tuple[int, str]:
    # Fernet tokens differ on every encryption, so a changed URL always means a new key.
    return (source.id, source.url_encrypted or WAREHOUSE_KIND)


def _name(name: str) -> str:
    if not name or not name.strip():
        raise InvalidInputError("name", "must not be empty")
    if len(name) > 255:
        raise InvalidInputError("name", "at most 255 characters")
    return name.strip()


_QUEUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _options(options: dict[str, Any], *, warehouse: bool = False) -> dict[str, Any]:
    # The warehouse's engine is fixed when the organization is created; a document may repeat it.
    options = {k: v for k, v in options.items() if not (warehouse and k == "engine")}
    unknown = set(options) - {"timeout", "queue"}
    if unknown:
        raise InvalidInputError("options", f"unknown options: {', '.join(sorted(unknown))}")
    # The executor queue this source's jobs go to (docs/scale-out.md); workers consume named queues.
    queue = options.get("queue")
    if queue is not None and not (isinstance(queue, str) and _QUEUE_NAME.fullmatch(queue)):
        raise InvalidInputError("options.queue", "1 to 100 letters, digits, '.', '_' or '-'")
    timeout = options.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise InvalidInputError("options.timeout", "a positive number of seconds")
    return dict(options)
