"""Metadata models. Every object has an integer `id` and a `uuid` (dialects need both)."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from openlytics.store.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class IdentifiedMixin:
    """Integer primary key, UUID and creation/update times."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Organization(IdentifiedMixin, Base):
    """The tenancy boundary: nothing is visible across organizations."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(IdentifiedMixin, Base):
    """A person (or service account) in one organization."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "email", name="uq_users_org_email"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    is_superadmin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)

    org: Mapped[Organization] = relationship(lazy="joined")


class ApiKey(IdentifiedMixin, Base):
    """A static credential: a user key, or a query key that reaches one query and its results."""

    __tablename__ = "api_keys"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    query_id: Mapped[int | None] = mapped_column(ForeignKey("queries.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    # SHA-256 of the key for lookup; the key itself only encrypted (dialects must show it again).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_encrypted: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginSession(IdentifiedMixin, Base):
    """A browser session created by logging in; the cookie holds a token whose hash is stored."""

    __tablename__ = "login_sessions"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()


class DataSource(IdentifiedMixin, Base):
    """A database queries run against: the org's embedded warehouse or an external SQLAlchemy URL."""

    __tablename__ = "data_sources"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_data_sources_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(40))
    url_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped to invalidate every cached result of this source at once.
    cache_generation: Mapped[int] = mapped_column(Integer, default=0)


class Query(IdentifiedMixin, Base):
    """A saved query: SQL with typed parameters against one data source."""

    __tablename__ = "queries"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_modified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    sql: Mapped[str] = mapped_column(Text)
    parameters: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timeout: Mapped[float | None] = mapped_column(Float, default=None)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    forked_from_id: Mapped[int | None] = mapped_column(ForeignKey("queries.id", ondelete="SET NULL"))
    latest_result_id: Mapped[int | None] = mapped_column(ForeignKey("query_results.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")


class QueryResult(IdentifiedMixin, Base):
    """One stored result: an Arrow file in the results store, with only a pointer here."""

    __tablename__ = "query_results"
    __table_args__ = (Index("ix_query_results_lookup", "data_source_id", "query_hash", "retrieved_at"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    # No foreign key: queries point at their latest result, and a cycle would complicate migrations.
    query_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    query_hash: Mapped[str] = mapped_column(String(64))
    sql_text: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    path: Mapped[str] = mapped_column(String(500))
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    byte_size: Mapped[int] = mapped_column(BigInteger, default=0)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    runtime_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    retrieved_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerHeartbeat(Base):
    """A process that runs jobs (a Celery worker) and when it last said it is alive (`Job.worker`)."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    last_beat_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(IdentifiedMixin, Base):
    """One execution. Status: PENDING=1, STARTED=2, SUCCESS=3, FAILURE=4, CANCELLED=5."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_running", "data_source_id", "query_hash", "status"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    query_id: Mapped[int | None] = mapped_column(ForeignKey("queries.id", ondelete="SET NULL"), index=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    query_hash: Mapped[str] = mapped_column(String(64))
    sql_text: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[int] = mapped_column(Integer, default=1, index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("query_results.id", ondelete="SET NULL"))
    timeout: Mapped[float | None] = mapped_column(Float, default=None)
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Schedule(IdentifiedMixin, Base):
    """A recurring trigger (interval or cron, in a time zone, until an optional end)."""

    __tablename__ = "schedules"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255), default="")
    # What fires: e.g. "query_refresh"; handlers are registered by kind in the runtime.
    kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    interval_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    cron: Mapped[str | None] = mapped_column(String(120), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    until: Mapped[datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)


class ScheduleRun(Base):
    """One firing of a schedule. (schedule_id, due_at) is unique: a due time fires exactly once."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column()
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text, default=None)


class Visualization(IdentifiedMixin, Base):
    """A way of drawing one query's result: a table, a chart, a pivot table or a counter."""

    __tablename__ = "visualizations"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Dashboard(IdentifiedMixin, Base):
    """A page of widgets; its slug is unique within the organization."""

    __tablename__ = "dashboards"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_dashboards_org_slug"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(140))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    is_draft: Mapped[bool] = mapped_column(Boolean, default=True)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    filters_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")


class Widget(IdentifiedMixin, Base):
    """A visualization or a text box placed on a dashboard (position in `options`)."""

    __tablename__ = "widgets"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"), index=True)
    visualization_id: Mapped[int | None] = mapped_column(
        ForeignKey("visualizations.id", ondelete="CASCADE"), index=True, default=None
    )
    text: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer, default=1)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Favorite(IdentifiedMixin, Base):
    """A user's star on a query or a dashboard."""

    __tablename__ = "favorites"
    __table_args__ = (
        UniqueConstraint("user_id", "object_type", "object_id", name="uq_favorites_user_object"),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)


class PublicLink(IdentifiedMixin, Base):
    """A revocable token giving anyone with the link read-only access to one dashboard."""

    __tablename__ = "public_links"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Alert(IdentifiedMixin, Base):
    """A condition on a query's latest result (column, operator, value), checked after each run."""

    __tablename__ = "alerts"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20), default="unknown")
    # Seconds before a still-triggered alert notifies again; None notifies only on state changes.
    rearm: Mapped[int | None] = mapped_column(Integer, default=None)
    last_triggered_at: Mapped[datetime | None] = mapped_column(default=None)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")


class NotificationDestination(IdentifiedMixin, Base):
    """Where alerts can notify: an e-mail address list or a webhook URL (options encrypted)."""

    __tablename__ = "notification_destinations"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_notification_destinations_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    options_encrypted: Mapped[str] = mapped_column(Text)


class AlertSubscription(IdentifiedMixin, Base):
    """Who hears of an alert: a user (by e-mail) or a destination."""

    __tablename__ = "alert_subscriptions"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    destination_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_destinations.id", ondelete="CASCADE"), default=None
    )


class Dataset(IdentifiedMixin, Base):
    """A typed table in the organization's warehouse, with a primary key and a version history.

    Queries read it by `name` (a view over the current version's table, `table_name`).
    """

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_datasets_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    table_name: Mapped[str | None] = mapped_column(String(255), default=None)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    primary_key: Mapped[list[Any]] = mapped_column(default=list)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Free-form settings kept for dialects (a vendor's whole config document, display options).
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A write-only token for pushing rows (shown again to editors, so encrypted rather than hashed).
    push_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    push_token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # Bumped by every write: cached query results over the dataset become stale.
    cache_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Where a rebuild takes the data from: a saved query (on any data source); None for a
    # dataset whose rows are only pushed (a "custom table").
    source_query_id: Mapped[int | None] = mapped_column(
        ForeignKey("queries.id", ondelete="SET NULL"), default=None, index=True
    )
    last_rebuilt_at: Mapped[datetime | None] = mapped_column(default=None)


class DatasetVersion(IdentifiedMixin, Base):
    """One kept state of a dataset: the table holding it, its schema and row count."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(255))
    columns: Mapped[list[Any]] = mapped_column(default=list)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    operation: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Script(IdentifiedMixin, Base):
    """User Python code run on the server in a sandbox, with JSON state kept between runs."""

    __tablename__ = "scripts"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_scripts_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), default="python")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the script stored for its next run: raw text (a JSON document), as given.
    storage: Mapped[str | None] = mapped_column(Text, default=None)
    cpu_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    wall_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    memory_mb: Mapped[int | None] = mapped_column(Integer, default=None)


class ScriptRun(IdentifiedMixin, Base):
    """One run of a script: parameters, status, output and timings."""

    __tablename__ = "script_runs"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    return_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The process executing the run (`JobRunner.worker_name`), set once when it claims the run;
    # NULL while the run waits in the executor's queue.
    worker: Mapped[str | None] = mapped_column(String(255), default=None)


class BackgroundTask(IdentifiedMixin, Base):
    """Work done after the request answered (a file load, an e-mail): polled by its id."""

    __tablename__ = "background_tasks"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The process running it (host:pid): recovery and the reaper of a shared store go by it. A task
    # sent to workers has none until one claims it.
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    # What the handler registered for `kind` receives, and who asked (Principal.to_json()).
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    principal: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The executor queue it was sent to; None when it ran on the pool of the process that took it.
    queue: Mapped[str | None] = mapped_column(String(40), default=None)


class Upload(IdentifiedMixin, Base):
    """A file received for later use (a dataset load, an e-mail attachment), kept in the data dir."""

    __tablename__ = "uploads"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    object_name: Mapped[str] = mapped_column(String(255), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), default=None
    )
    path: Mapped[str | None] = mapped_column(String(500), default=None)
    byte_size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str | None] = mapped_column(String(255), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)


class SentEmail(IdentifiedMixin, Base):
    """An e-mail the server sent for an organization (the daily quota counts these)."""

    __tablename__ = "sent_emails"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(998))
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="sent")
    error: Mapped[str | None] = mapped_column(Text, default=None)


class OAuthClient(IdentifiedMixin, Base):
    """OAuth 2.0 client credentials issued to a user: the secret is kept only as a hash."""

    __tablename__ = "oauth_clients"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AccessToken(IdentifiedMixin, Base):
    """A bearer token issued by the OAuth token endpoint; valid until `expires_at`."""

    __tablename__ = "access_tokens"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ActivityEvent(Base):
    """One thing that happened in an organization: an API call, a dashboard view, a query run, ..."""

    __tablename__ = "activity_events"
    __table_args__ = (Index("ix_activity_events_org_kind_time", "org_id", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(40), default=None)
    object_id: Mapped[int | None] = mapped_column(Integer, default=None)
    channel: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(IdentifiedMixin, Base):
    """A group of users in an organization (ClicData's teams, ThoughtSpot's groups): its parameters
    filter the data its members read, its privileges add to their role, what is shared with it is
    shared with them, and it may itself belong to other groups (see docs/governance.md)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_teams_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # {parameter name: [allowed values]}: a member reads only rows whose column of that name holds
    # one of the values (see core/teams.py).
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    visibility: Mapped[str] = mapped_column(String(20), default="DEFAULT")  # DEFAULT | NON_SHARABLE
    # Privilege names (core/governance/privileges.py) every member, direct or through nested
    # groups, holds in addition to their role.
    privileges: Mapped[list[Any]] = mapped_column(default=list)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )


class TeamNesting(Base):
    """A group inside another: the members of `member_team_id` are members of `team_id` too
    (its privileges and what is shared with it reach them); never a cycle."""

    __tablename__ = "team_nesting"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    member_team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Share(IdentifiedMixin, Base):
    """An object shared with a user or a group, read-only or to modify (docs/governance.md)."""

    __tablename__ = "shares"
    __table_args__ = (
        UniqueConstraint(
            "object_kind", "object_id", "principal_kind", "principal_id", name="uq_shares_object_principal"
        ),
        Index("ix_shares_org_object", "org_id", "object_kind", "object_id"),
        Index("ix_shares_principal", "principal_kind", "principal_id"),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    object_kind: Mapped[str] = mapped_column(String(40))  # query | dashboard | visualization | ...
    object_id: Mapped[int] = mapped_column(Integer)
    principal_kind: Mapped[str] = mapped_column(String(10))  # user | team
    principal_id: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(20))  # READ_ONLY | MODIFY
    shared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class UserToken(IdentifiedMixin, Base):
    """A short-lived bearer token issued to a user by password or trusted authentication: `full`
    (acts as the user), `object` (reads one object), or a single-use `login` token."""

    __tablename__ = "user_tokens"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_uuid: Mapped[uuid_module.UUID | None] = mapped_column(Uuid, default=None)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class TrustedAuthKey(IdentifiedMixin, Base):
    """An organization's trusted-authentication secret: a backend holding it may obtain a login
    token for a named user. Stored hashed for lookup and encrypted to be shown again."""

    __tablename__ = "trusted_auth_keys"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_encrypted: Mapped[str] = mapped_column(Text)


class TeamMember(Base):
    """A user's membership of a team."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


# ----- event pipelines (issue 6; see docs/pipeline.md) ---------------------------------------------
class PipelineInput(IdentifiedMixin, Base):
    """A source of events: a webhook, a file drop, a database table read incrementally, or the
    stored configuration of a vendor source this server cannot reach."""

    __tablename__ = "pipeline_inputs"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(40))  # upper case: REST, FILE, POSTGRESQL, MYSQL, S3, ...
    # The configuration as shown (secrets masked); the secret values are in `secrets_encrypted`.
    configuration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # REST inputs: the token in the webhook URL (shown in the configuration, so encrypted).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    sleep_seconds: Mapped[float] = mapped_column(Float, default=60.0)
    # Where a polling input is (the last value of the increasing column, the files already read).
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    validated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class EventType(IdentifiedMixin, Base):
    """A kind of event with the superset of its fields and how they map onto an output table."""

    __tablename__ = "event_types"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_event_types_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    input_id: Mapped[int | None] = mapped_column(
        ForeignKey("pipeline_inputs.id", ondelete="SET NULL"), default=None
    )
    state: Mapped[str] = mapped_column(String(20), default="UNMAPPED")  # MAPPED, UNMAPPED, DISCARDED
    mapping_mode: Mapped[str | None] = mapped_column(String(20), default=None)  # None: the default
    is_discarded: Mapped[bool] = mapped_column(Boolean, default=False)
    schema_name: Mapped[str | None] = mapped_column(String(255), default=None)
    table_name: Mapped[str | None] = mapped_column(String(255), default=None)
    # The field tree: [{"fieldName", "fields": [...], "mapping": {...} | None, "types": [...]}].
    fields: Mapped[list[Any]] = mapped_column(default=list)
    auto_mapping_error: Mapped[str | None] = mapped_column(Text, default=None)
    consolidation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), default=None
    )


class CodeModule(IdentifiedMixin, Base):
    """A named Python module of an organization's Code Engine (`main` holds `transform(event)`)."""

    __tablename__ = "code_modules"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_code_modules_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(20), default="PYTHON")


class PipelineSecret(IdentifiedMixin, Base):
    """A secret value transforms can read (`secrets["name"]`); its value is never shown."""

    __tablename__ = "pipeline_secrets"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_pipeline_secrets_org_name"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    value_encrypted: Mapped[str] = mapped_column(Text)


class RestreamEvent(Base):
    """An event that could not be loaded (transform error, unmapped, type mismatch), kept for restream."""

    __tablename__ = "restream_events"
    __table_args__ = (Index("ix_restream_events_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    input_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_inputs.id", ondelete="SET NULL"))
    event_type: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    event: Mapped[str] = mapped_column(Text)  # the event as it entered the pipeline, JSON
    byte_size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventSample(Base):
    """A recent event per (event type, status), for the mapper and transform tests (a few kept)."""

    __tablename__ = "event_samples"
    __table_args__ = (Index("ix_event_samples_org_type_status", "org_id", "event_type", "status"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    input_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_inputs.id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    event: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventStatusCount(Base):
    """How many events of an event type ended with each status (samples/stats)."""

    __tablename__ = "event_status_counts"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class PipelineMinute(Base):
    """One minute of an organization's pipeline, per node: the counters the metrics are drawn from.

    `node` is "pipeline" for the whole, or "input:<id>" / "output" / "restream" for per-node
    throughput. Latencies keep a mergeable histogram (bucket upper bound in ms -> count).
    """

    __tablename__ = "pipeline_minutes"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    node: Mapped[str] = mapped_column(String(600), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    incoming: Mapped[int] = mapped_column(BigInteger, default=0)
    loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    unmapped: Mapped[int] = mapped_column(BigInteger, default=0)
    ignored: Mapped[int] = mapped_column(BigInteger, default=0)
    restreamed: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_count: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_sum_ms: Mapped[float] = mapped_column(Float, default=0.0)
    latency_max_ms: Mapped[float] = mapped_column(Float, default=0.0)
    latency_histogram: Mapped[dict[str, Any]] = mapped_column(default=dict)
    in_pipeline: Mapped[int] = mapped_column(BigInteger, default=0)  # gauge: last value seen
    in_transit: Mapped[int] = mapped_column(BigInteger, default=0)  # gauge: restream queue


class PipelineNotification(IdentifiedMixin, Base):
    """Something the pipeline wants people to know: a load, an error, an input failing."""

    __tablename__ = "pipeline_notifications"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20), default="info")  # info, warning, error
    message: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20), default="new")
    aggregated_count: Mapped[int] = mapped_column(Integer, default=1)


class PipelineOutput(IdentifiedMixin, Base):
    """Where mapped events load: the organization's warehouse (default) or an external database."""

    __tablename__ = "pipeline_outputs"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True, index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(20))  # REDSHIFT (also the warehouse), SNOWFLAKE, BIGQUERY
    configuration: Mapped[dict[str, Any]] = mapped_column(default=dict)  # secrets masked
    secrets_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    validated: Mapped[bool] = mapped_column(Boolean, default=False)


class PipelineSettings(Base):
    """An organization's pipeline settings: default mapping mode, e-mail digests, S3 retention."""

    __tablename__ = "pipeline_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    mapping_mode: Mapped[str] = mapped_column(String(20), default="AUTO_MAP")
    email_notifications: Mapped[dict[str, Any]] = mapped_column(default=dict)
    s3_retention: Mapped[dict[str, Any]] = mapped_column(default=dict)  # secrets masked
    s3_retention_secrets_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    restream_streaming: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
