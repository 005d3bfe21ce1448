"""Saved queries: SQL with typed parameters against one data source; search, fork, archive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openlytics.core.access import ObjectAccess, require_access, without_hidden
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.favorites import favorite_ids
from openlytics.core.pagination import Page, paginate
from openlytics.core.parameters import find_references, parse_definitions
from openlytics.core.principal import Action, Principal
from openlytics.core.sources import DataSourceService, sql_dialect
from openlytics.core.visualizations import copy_of, default_table
from openlytics.store.db import Database
from openlytics.store.models import DataSource, Query, Visualization
from openlytics.store.types import utcnow

EDITABLE_FIELDS = frozenset(
    {"name", "sql", "data_source_id", "description", "parameters", "tags", "timeout", "options", "is_draft"}
)


class QueryService:
    """Create, read, search, edit, fork and archive saved queries."""

    def __init__(self, db: Database, sources: DataSourceService) -> None:
        self.db = db
        self.sources = sources
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    def list(
        self,
        principal: Principal,
        *,
        search: str | None = None,
        tag: str | None = None,
        include_archived: bool = False,
        favorites_only: bool = False,
        page: int = 1,
        per_page: int = 25,
    ) -> Page[Query]:
        """Queries of the organization, newest first, optionally searched and filtered."""
        principal.require(Action.READ, "queries")
        stmt = select(Query).where(Query.org_id == principal.org_id)
        if favorites_only:
            stmt = stmt.where(Query.id.in_(favorite_ids(principal, "query")))
        if principal.query_scope is not None:
            stmt = stmt.where(Query.id == principal.query_scope)
        if not include_archived:
            stmt = stmt.where(Query.is_archived.is_(False))
        stmt = without_hidden(stmt, self.sharing, principal, "query", Query.id)
        if search:
            pattern = f"%{_escape_like(search.lower())}%"
            stmt = stmt.where(
                or_(
                    Query.name.ilike(pattern, escape="\\"),
                    Query.description.ilike(pattern, escape="\\"),
                    Query.sql.ilike(pattern, escape="\\"),
                )
            )
        with self.db.session() as s:
            if tag:
                # Tags are a JSON list; filter in Python to stay portable across SQLite and PostgreSQL.
                ids = [q.id for q in s.scalars(stmt) if tag in (q.tags or [])]
                stmt = select(Query).where(Query.id.in_(ids))
            return paginate(s, stmt.order_by(Query.updated_at.desc(), Query.id.desc()), page, per_page)

    def get(self, principal: Principal, query_id: int) -> Query:
        """One query (archived ones stay readable)."""
        principal.require(Action.READ, f"query {query_id}")
        principal.require_query(query_id)
        with self.db.session() as s:
            return self._get(s, principal, query_id)

    def create(self, principal: Principal, **fields: Any) -> Query:
        """Save a new query; `name` and `sql` are required."""
        principal.require(Action.WRITE, "queries")
        _refuse_unknown(fields)
        for required in ("name", "sql"):
            if not fields.get(required):
                raise InvalidInputError(required, "required")
        if fields.get("data_source_id") is None:
            fields["data_source_id"] = self.sources.default(principal).id
        with self.db.session() as s:
            query = Query(org_id=principal.org_id, user_id=principal.user_id, parameters=[], tags=[])
            self._apply(s, principal, query, fields)
            query.last_modified_by_id = principal.user_id
            s.add(query)
            s.flush()
            s.add(default_table(query))
            _ = query.user  # load while the session is open; callers serialise it later
            return query

    def update(self, principal: Principal, query_id: int, **fields: Any) -> Query:
        """Edit a query; bumps its version."""
        principal.require(Action.WRITE, f"query {query_id}")
        _refuse_unknown(fields)
        with self.db.session() as s:
            query = self._get(s, principal, query_id, "MODIFY")
            self._apply(s, principal, query, fields)
            query.version += 1
            query.last_modified_by_id = principal.user_id
            query.updated_at = utcnow()
            return query

    def archive(self, principal: Principal, query_id: int) -> Query:
        """Archive a query: hidden from lists, still readable, no longer scheduled."""
        principal.require(Action.WRITE, f"query {query_id}")
        with self.db.session() as s:
            query = self._get(s, principal, query_id, "MODIFY")
            query.is_archived = True
            query.updated_at = utcnow()
            return query

    def fork(self, principal: Principal, query_id: int) -> Query:
        """Copy a query as the caller's own ("Copy of ...")."""
        principal.require(Action.WRITE, f"query {query_id}")
        with self.db.session() as s:
            original = self._get(s, principal, query_id)
            copy = Query(
                org_id=principal.org_id,
                user_id=principal.user_id,
                last_modified_by_id=principal.user_id,
                data_source_id=original.data_source_id,
                name=f"Copy of ({original.id}) {original.name}"[:255],
                description=original.description,
                sql=original.sql,
                parameters=list(original.parameters or []),
                tags=list(original.tags or []),
                options=dict(original.options or {}),
                timeout=original.timeout,
                forked_from_id=original.id,
            )
            s.add(copy)
            s.flush()
            originals = s.scalars(
                select(Visualization).where(Visualization.query_id == original.id).order_by(Visualization.id)
            )
            s.add_all([copy_of(viz, copy.id) for viz in originals])
            _ = copy.user
            return copy

    def _get(self, s: Session, principal: Principal, query_id: int, mode: str = "READ_ONLY") -> Query:
        query = s.get(Query, query_id)
        if query is None or query.org_id != principal.org_id:
            raise NotFoundError("query", query_id)
        if principal.query_scope is not None and principal.query_scope != query_id:
            raise PermissionDeniedError("read", f"query {query_id}")
        require_access(self.sharing, principal, "query", query_id, mode)
        return query

    def _apply(self, s: Session, principal: Principal, query: Query, fields: dict[str, Any]) -> None:
        if "name" in fields:
            query.name = _text("name", fields["name"], 255)
        if "description" in fields:
            query.description = fields["description"]
        if "sql" in fields:
            query.sql = _text("sql", fields["sql"], 1_000_000)
        if "data_source_id" in fields:
            source = s.get(DataSource, fields["data_source_id"])
            if source is None or source.org_id != principal.org_id:
                raise InvalidInputError("data_source_id", f"no data source {fields['data_source_id']}")
            if source.id != query.data_source_id:  # a source shared away from the caller is not theirs to use
                require_access(self.sharing, principal, "data_source", source.id)
            query.data_source_id = source.id
        if "parameters" in fields:
            definitions = parse_definitions(fields["parameters"] or [])
            query.parameters = [d.to_dict() for d in definitions]
        if "tags" in fields:
            query.tags = _tags(fields["tags"])
        if "timeout" in fields:
            query.timeout = _timeout(fields["timeout"])
        if "options" in fields:
            if not isinstance(fields["options"], dict):
                raise InvalidInputError("options", "an object")
            query.options = fields["options"]
        if "is_draft" in fields:
            query.is_draft = bool(fields["is_draft"])
        source = s.get(DataSource, query.data_source_id)
        _check_references(query, sql_dialect(source.kind) if source is not None else None)


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInputError(sorted(unknown)[0], "unknown field")


def _check_references(query: Query, dialect: str | None) -> None:
    defined = {p["name"] for p in query.parameters or []}
    raw = [p["name"] for p in query.parameters or [] if p.get("type") == "raw"]
    for ref in find_references(query.sql, raw_names=raw, dialect=dialect):
        if ref.name not in defined:
            raise InvalidInputError("sql", f"parameter {{{{ {ref.name} }}}} is used but not defined")


def _text(field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "a non-empty string")
    if len(value) > limit:
        raise InvalidInputError(field, f"at most {limit:,} characters")
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise InvalidInputError("tags", "a list of non-empty strings")
    return sorted({t.strip() for t in value})


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidInputError("timeout", "a positive number of seconds")
    return float(value)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
