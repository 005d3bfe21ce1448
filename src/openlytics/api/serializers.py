"""Core objects to the JSON shapes of docs/api.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from openlytics.core.identity import IssuedKey
from openlytics.core.jobs import JobStatus
from openlytics.core.oauth import IssuedClient
from openlytics.core.pagination import Page
from openlytics.core.sources import DataSourceService
from openlytics.engines.base import TableInfo
from openlytics.store.models import (
    ApiKey,
    DataSource,
    Job,
    OAuthClient,
    Organization,
    Query,
    QueryResult,
    Schedule,
    ScheduleRun,
    User,
)

T = TypeVar("T")


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page_of(page: Page[T], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The list envelope."""
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}


def organization(org: Organization) -> dict[str, Any]:
    """Org."""
    return {
        "id": org.id,
        "uuid": str(org.uuid),
        "name": org.name,
        "slug": org.slug,
        "created_at": iso(org.created_at),
    }


def user(u: User) -> dict[str, Any]:
    """User."""
    return {
        "id": u.id,
        "uuid": str(u.uuid),
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "is_disabled": u.disabled_at is not None,
        "is_superadmin": u.is_superadmin,
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
    }


def api_key(k: ApiKey) -> dict[str, Any]:
    """ApiKey, without the secret."""
    return {
        "id": k.id,
        "uuid": str(k.uuid),
        "name": k.name,
        "prefix": k.prefix,
        "user_id": k.user_id,
        "query_id": k.query_id,
        "created_at": iso(k.created_at),
        "last_used_at": iso(k.last_used_at),
        "expires_at": iso(k.expires_at),
    }


def issued_key(issued: IssuedKey) -> dict[str, Any]:
    """ApiKey with its plaintext, shown once."""
    return {**api_key(issued.record), "key": issued.key}


def oauth_client(c: OAuthClient) -> dict[str, Any]:
    """OAuthClient, without the secret."""
    return {
        "id": c.id,
        "uuid": str(c.uuid),
        "client_id": c.client_id,
        "name": c.name,
        "user_id": c.user_id,
        "created_at": iso(c.created_at),
        "last_used_at": iso(c.last_used_at),
    }


def issued_oauth_client(issued: IssuedClient) -> dict[str, Any]:
    """OAuthClient with its secret, shown once."""
    return {**oauth_client(issued.record), "client_secret": issued.client_secret}


def data_source(source: DataSource, sources: DataSourceService) -> dict[str, Any]:
    """DataSource, password masked."""
    return {
        "id": source.id,
        "uuid": str(source.uuid),
        "name": source.name,
        "kind": source.kind,
        "url": sources.masked_url(source),
        "is_default": source.is_default,
        "options": source.options or {},
        "created_at": iso(source.created_at),
        "updated_at": iso(source.updated_at),
    }


def table(t: TableInfo) -> dict[str, Any]:
    """A table of a schema listing."""
    return {
        "schema": t.schema,
        "name": t.name,
        "kind": t.kind,
        "columns": [{"name": c.name, "type": c.type} for c in t.columns],
    }


def query(q: Query) -> dict[str, Any]:
    """Query."""
    owner = q.__dict__.get("user")  # loaded eagerly by the service, never lazily here
    return {
        "id": q.id,
        "uuid": str(q.uuid),
        "name": q.name,
        "description": q.description,
        "sql": q.sql,
        "data_source_id": q.data_source_id,
        "parameters": q.parameters or [],
        "tags": q.tags or [],
        "options": q.options or {},
        "timeout": q.timeout,
        "is_archived": q.is_archived,
        "is_draft": q.is_draft,
        "version": q.version,
        "forked_from_id": q.forked_from_id,
        "latest_result_id": q.latest_result_id,
        "user": {"id": owner.id, "name": owner.name} if owner is not None else None,
        "created_at": iso(q.created_at),
        "updated_at": iso(q.updated_at),
    }


def job(j: Job) -> dict[str, Any]:
    """Job."""
    return {
        "id": j.id,
        "uuid": str(j.uuid),
        "status": j.status,
        "status_name": JobStatus(j.status).name,
        "error": j.error,
        "error_code": j.error_code,
        "query_id": j.query_id,
        "data_source_id": j.data_source_id,
        "result_id": j.result_id,
        "created_at": iso(j.created_at),
        "started_at": iso(j.started_at),
        "finished_at": iso(j.finished_at),
    }


def result(r: QueryResult, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Result, with rows inlined when given."""
    return {
        "id": r.id,
        "uuid": str(r.uuid),
        "data_source_id": r.data_source_id,
        "query_id": r.query_id,
        "query_hash": r.query_hash,
        "row_count": r.row_count,
        "byte_size": r.byte_size,
        "columns": r.columns,
        "runtime_seconds": r.runtime_seconds,
        "retrieved_at": iso(r.retrieved_at),
        "rows": rows,
    }


def schedule_to_dict(s: Schedule) -> dict[str, Any]:
    """The API's `Schedule` object."""
    return {
        "id": s.id,
        "uuid": str(s.uuid),
        "name": s.name,
        "kind": s.kind,
        "target_id": s.target_id,
        "interval_seconds": s.interval_seconds,
        "cron": s.cron,
        "timezone": s.timezone,
        "starts_at": iso(s.starts_at),
        "until": iso(s.until),
        "enabled": s.enabled,
        "next_run_at": iso(s.next_run_at),
        "last_run_at": iso(s.last_run_at),
        "payload": s.payload,
        "created_at": iso(s.created_at),
    }


def run_to_dict(r: ScheduleRun) -> dict[str, Any]:
    """The API's `ScheduleRun` object."""
    return {
        "id": r.id,
        "schedule_id": r.schedule_id,
        "due_at": iso(r.due_at),
        "fired_at": iso(r.fired_at),
        "manual": r.manual,
        "job_id": r.job_id,
        "error": r.error,
    }
