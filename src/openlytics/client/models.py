"""Typed views of the API's JSON objects (see docs/api.md).

Each model is a frozen dataclass built by `from_json`; unknown fields are kept in `raw`, so a newer
server never breaks an older SDK.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

JSON = dict[str, Any]


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (`Z` allowed) as an aware datetime; None stays None."""
    if not value:
        return None
    return datetime.fromisoformat(str(value))


class JobStatus(enum.IntEnum):
    """A job's lifecycle; the wire carries the integer and `status_name`."""

    PENDING = 1
    STARTED = 2
    SUCCESS = 3
    FAILURE = 4
    CANCELLED = 5

    @property
    def is_finished(self) -> bool:
        """True once the job can no longer change."""
        return self >= JobStatus.SUCCESS


@dataclass(frozen=True)
class Organization:
    """An organization (tenant)."""

    id: int
    uuid: str
    name: str
    slug: str
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            slug=data.get("slug", ""),
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class User:
    """A user of an organization."""

    id: int
    uuid: str
    email: str
    name: str
    role: str
    is_disabled: bool
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            email=data.get("email", ""),
            name=data.get("name", ""),
            role=data.get("role", ""),
            is_disabled=bool(data.get("is_disabled", False)),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Me:
    """Who the current credential belongs to."""

    user: User | None
    organization: Organization
    credential: str
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            user=User.from_json(data["user"]) if data.get("user") else None,
            organization=Organization.from_json(data["organization"]),
            credential=data.get("credential", ""),
            raw=data,
        )


@dataclass(frozen=True)
class ApiKey:
    """An API key; `key` holds the secret only in the answer that created it."""

    id: int
    uuid: str
    name: str
    prefix: str
    user_id: int | None
    query_id: int | None
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    key: str | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name") or "",
            prefix=data.get("prefix") or "",
            user_id=data.get("user_id"),
            query_id=data.get("query_id"),
            created_at=parse_time(data.get("created_at")),
            last_used_at=parse_time(data.get("last_used_at")),
            expires_at=parse_time(data.get("expires_at")),
            key=data.get("key"),
            raw=data,
        )


@dataclass(frozen=True)
class OAuthClient:
    """OAuth client credentials; `client_secret` is set only in the answer that created it."""

    id: int
    uuid: str
    client_id: str
    name: str
    user_id: int | None
    created_at: datetime | None
    last_used_at: datetime | None
    client_secret: str | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            client_id=data.get("client_id", ""),
            name=data.get("name") or "",
            user_id=data.get("user_id"),
            created_at=parse_time(data.get("created_at")),
            last_used_at=parse_time(data.get("last_used_at")),
            client_secret=data.get("client_secret"),
            raw=data,
        )


@dataclass(frozen=True)
class TrustedAuthKey:
    """The organization's trusted-authentication key; `secret_key` is None while it is disabled."""

    enabled: bool
    secret_key: str | None
    created_at: datetime | None
    rotated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            enabled=bool(data.get("enabled")),
            secret_key=data.get("secret_key"),
            created_at=parse_time(data.get("created_at")),
            rotated_at=parse_time(data.get("rotated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class OrganizationCreated:
    """The answer to creating an organization: it, its first admin and the admin's API key."""

    organization: Organization
    admin: User
    api_key: str
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            organization=Organization.from_json(data["organization"]),
            admin=User.from_json(data["admin"]),
            api_key=data["api_key"],
            raw=data,
        )


@dataclass(frozen=True)
class DataSource:
    """A data source: the organization's warehouse or an external database."""

    id: int
    uuid: str
    name: str
    kind: str
    url: str
    is_default: bool
    options: JSON
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            kind=data.get("kind", ""),
            url=data.get("url", ""),
            is_default=bool(data.get("is_default", False)),
            options=data.get("options") or {},
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Column:
    """A result or table column; `type` is one of the API's column types (`integer`, `string`, ...)."""

    name: str
    type: str

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(name=data["name"], type=data.get("type") or "")


@dataclass(frozen=True)
class Table:
    """A table or view of a data source's schema."""

    schema: str | None
    name: str
    kind: str
    columns: list[Column]

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            schema=data.get("schema"),
            name=data["name"],
            kind=data.get("kind") or "table",
            columns=[Column.from_json(c) for c in data.get("columns") or []],
        )


@dataclass(frozen=True)
class Query:
    """A saved query."""

    id: int
    uuid: str
    name: str
    description: str | None
    sql: str
    data_source_id: int | None
    parameters: list[JSON]
    tags: list[str]
    timeout: float | None
    is_archived: bool
    version: int
    forked_from_id: int | None
    latest_result_id: int | None
    user: JSON | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            description=data.get("description"),
            sql=data.get("sql", ""),
            data_source_id=data.get("data_source_id"),
            parameters=data.get("parameters") or [],
            tags=data.get("tags") or [],
            timeout=data.get("timeout"),
            is_archived=bool(data.get("is_archived", False)),
            version=data.get("version") or 1,
            forked_from_id=data.get("forked_from_id"),
            latest_result_id=data.get("latest_result_id"),
            user=data.get("user"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Job:
    """One execution of a statement."""

    id: int
    uuid: str
    status: JobStatus
    error: str | None
    error_code: str | None
    query_id: int | None
    data_source_id: int | None
    result_id: int | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @property
    def status_name(self) -> str:
        """`PENDING`, `STARTED`, `SUCCESS`, `FAILURE` or `CANCELLED`."""
        return self.status.name

    @property
    def is_finished(self) -> bool:
        """True once the job can no longer change."""
        return self.status.is_finished

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            status=JobStatus(data["status"]),
            error=data.get("error"),
            error_code=data.get("error_code"),
            query_id=data.get("query_id"),
            data_source_id=data.get("data_source_id"),
            result_id=data.get("result_id"),
            created_at=parse_time(data.get("created_at")),
            started_at=parse_time(data.get("started_at")),
            finished_at=parse_time(data.get("finished_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Result:
    """A stored query result; `rows` is inlined by the server only for small results."""

    id: int
    uuid: str
    data_source_id: int | None
    query_id: int | None
    query_hash: str
    row_count: int
    byte_size: int | None
    columns: list[Column]
    runtime_seconds: float | None
    retrieved_at: datetime | None
    rows: list[JSON] | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            data_source_id=data.get("data_source_id"),
            query_id=data.get("query_id"),
            query_hash=data.get("query_hash") or "",
            row_count=data.get("row_count") or 0,
            byte_size=data.get("byte_size"),
            columns=[Column.from_json(c) for c in data.get("columns") or []],
            runtime_seconds=data.get("runtime_seconds"),
            retrieved_at=parse_time(data.get("retrieved_at")),
            rows=data.get("rows"),
            raw=data,
        )


@dataclass(frozen=True)
class Run:
    """The answer to starting a run: a result when ready, else the job still running."""

    job: Job | None
    result: Result | None

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            job=Job.from_json(data["job"]) if data.get("job") else None,
            result=Result.from_json(data["result"]) if data.get("result") else None,
        )


@dataclass(frozen=True)
class Schedule:
    """A schedule that refreshes a query (or other target) periodically."""

    id: int
    uuid: str
    name: str | None
    kind: str
    target_id: int
    interval_seconds: int | None
    cron: str | None
    timezone: str
    starts_at: datetime | None
    until: datetime | None
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    payload: JSON
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name"),
            kind=data.get("kind", ""),
            target_id=data.get("target_id", 0),
            interval_seconds=data.get("interval_seconds"),
            cron=data.get("cron"),
            timezone=data.get("timezone") or "UTC",
            starts_at=parse_time(data.get("starts_at")),
            until=parse_time(data.get("until")),
            enabled=bool(data.get("enabled", True)),
            next_run_at=parse_time(data.get("next_run_at")),
            last_run_at=parse_time(data.get("last_run_at")),
            payload=data.get("payload") or {},
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class ScheduleRun:
    """One firing of a schedule."""

    id: int
    schedule_id: int
    due_at: datetime | None
    fired_at: datetime | None
    manual: bool
    job_id: int | None
    error: str | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            schedule_id=data.get("schedule_id", 0),
            due_at=parse_time(data.get("due_at")),
            fired_at=parse_time(data.get("fired_at")),
            manual=bool(data.get("manual", False)),
            job_id=data.get("job_id"),
            error=data.get("error"),
            raw=data,
        )


@dataclass(frozen=True)
class Visualization:
    """A way of drawing a query's result: `TABLE`, `CHART`, `PIVOT` or `COUNTER`."""

    id: int
    uuid: str
    query_id: int
    type: str
    name: str
    description: str | None
    options: JSON
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            query_id=data.get("query_id", 0),
            type=data.get("type", ""),
            name=data.get("name", ""),
            description=data.get("description"),
            options=data.get("options") or {},
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Widget:
    """A visualization or a text box on a dashboard; `position` is `{col, row, sizeX, sizeY}`."""

    id: int
    uuid: str
    dashboard_id: int
    visualization_id: int | None
    text: str
    width: int
    options: JSON
    position: dict[str, int]
    visualization: Visualization | None
    query: JSON | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @property
    def query_id(self) -> int | None:
        """The query the widget's visualization draws (None for text)."""
        return self.visualization.query_id if self.visualization is not None else None

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        viz = data.get("visualization")
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            dashboard_id=data.get("dashboard_id", 0),
            visualization_id=data.get("visualization_id"),
            text=data.get("text") or "",
            width=data.get("width") or 1,
            options=data.get("options") or {},
            position=data.get("position") or {},
            visualization=Visualization.from_json(viz) if viz else None,
            query=data.get("query"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Dashboard:
    """A dashboard; `widgets` are filled by `get` (lists leave them empty)."""

    id: int
    uuid: str
    name: str
    slug: str
    tags: list[str]
    is_draft: bool
    is_archived: bool
    filters_enabled: bool
    options: JSON
    version: int
    is_favorite: bool
    user: JSON | None
    widgets: list[Widget]
    public_url: str | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            slug=data.get("slug", ""),
            tags=data.get("tags") or [],
            is_draft=bool(data.get("is_draft", False)),
            is_archived=bool(data.get("is_archived", False)),
            filters_enabled=bool(data.get("filters_enabled", False)),
            options=data.get("options") or {},
            version=data.get("version") or 1,
            is_favorite=bool(data.get("is_favorite", False)),
            user=data.get("user"),
            widgets=[Widget.from_json(w) for w in data.get("widgets") or []],
            public_url=data.get("public_url"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class PublicLink:
    """A dashboard's public link: anyone with `url` sees the dashboard, read-only."""

    token: str
    url: str

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(token=data["token"], url=data.get("url", ""))


@dataclass(frozen=True)
class Alert:
    """A condition (`options`: column, op, value) on a query's latest result; `state` ok/triggered/unknown."""

    id: int
    uuid: str
    name: str
    query_id: int
    options: JSON
    state: str
    rearm: int | None
    muted: bool
    last_triggered_at: datetime | None
    user: JSON | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            query_id=data.get("query_id", 0),
            options=data.get("options") or {},
            state=data.get("state") or "unknown",
            rearm=data.get("rearm"),
            muted=bool(data.get("muted", False)),
            last_triggered_at=parse_time(data.get("last_triggered_at")),
            user=data.get("user"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class AlertSubscription:
    """Who hears of an alert: a user (by e-mail) or a destination."""

    id: int
    alert_id: int
    user_id: int | None
    destination_id: int | None
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            alert_id=data.get("alert_id", 0),
            user_id=data.get("user_id"),
            destination_id=data.get("destination_id"),
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Destination:
    """Where alerts notify: an e-mail list or a webhook (secrets masked in `options`)."""

    id: int
    uuid: str
    name: str
    kind: str
    options: JSON
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            kind=data.get("kind", ""),
            options=data.get("options") or {},
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Script:
    """Python code the server runs in a sandbox, with limits (None: the server's defaults)."""

    id: int
    uuid: str
    name: str
    code: str
    kind: str
    options: JSON
    cpu_seconds: float | None
    wall_seconds: float | None
    memory_mb: int | None
    user_id: int | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            code=data.get("code", ""),
            kind=data.get("kind", "python"),
            options=data.get("options") or {},
            cpu_seconds=data.get("cpu_seconds"),
            wall_seconds=data.get("wall_seconds"),
            memory_mb=data.get("memory_mb"),
            user_id=data.get("user_id"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class ScriptRun:
    """One run of a script: `running`, then `success`, `failure` or `timeout`, with its output."""

    id: int
    uuid: str
    script_id: int
    status: str
    parameters: JSON
    stdout: str
    stderr: str
    return_code: int | None
    error: str | None
    schedule_id: int | None
    started_at: datetime | None
    finished_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @property
    def is_finished(self) -> bool:
        """True once the run can no longer change."""
        return self.status != "running"

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            script_id=data.get("script_id", 0),
            status=data.get("status", ""),
            parameters=data.get("parameters") or {},
            stdout=data.get("stdout") or "",
            stderr=data.get("stderr") or "",
            return_code=data.get("return_code"),
            error=data.get("error"),
            schedule_id=data.get("schedule_id"),
            started_at=parse_time(data.get("started_at")),
            finished_at=parse_time(data.get("finished_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Dataset:
    """A typed table in the organization's warehouse; queries read it by `name`."""

    id: int
    uuid: str
    name: str
    description: str | None
    columns: list[Column]
    primary_key: list[str]
    row_count: int
    version: int
    options: JSON
    data_source_id: int | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)
    source_query_id: int | None = None
    last_rebuilt_at: datetime | None = None

    @property
    def refreshable(self) -> bool:
        """Whether `rebuild` has a source query to take the rows from (else: a custom table)."""
        return self.source_query_id is not None

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return [c.name for c in self.columns]

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            description=data.get("description"),
            columns=[Column.from_json(c) for c in data.get("columns") or []],
            primary_key=list(data.get("primary_key") or []),
            row_count=data.get("row_count") or 0,
            version=data.get("version") or 0,
            options=data.get("options") or {},
            data_source_id=data.get("data_source_id"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
            source_query_id=data.get("source_query_id"),
            last_rebuilt_at=parse_time(data.get("last_rebuilt_at")),
        )


@dataclass(frozen=True)
class DatasetVersion:
    """A kept version of a dataset: the state a reload (or restore) made, plus the changes after it."""

    version: int
    columns: list[Column]
    row_count: int
    operation: str
    created_by_id: int | None
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            version=data["version"],
            columns=[Column.from_json(c) for c in data.get("columns") or []],
            row_count=data.get("row_count") or 0,
            operation=data.get("operation") or "",
            created_by_id=data.get("created_by_id"),
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class WriteResult:
    """What a dataset write did, and the dataset after it."""

    inserted: int
    updated: int
    deleted: int
    row_count: int
    dataset: Dataset
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            inserted=data.get("inserted") or 0,
            updated=data.get("updated") or 0,
            deleted=data.get("deleted") or 0,
            row_count=data.get("row_count") or 0,
            dataset=Dataset.from_json(data["dataset"]),
            raw=data,
        )


@dataclass(frozen=True)
class RebuildOutcome:
    """What a rebuild from the source query did; `rebuilt` is False for a custom table."""

    method: str
    rebuilt: bool
    rows_read: int
    inserted: int
    updated: int
    row_count: int
    message: str
    dataset: Dataset
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            method=data.get("method", ""),
            rebuilt=bool(data.get("rebuilt")),
            rows_read=data.get("rows_read") or 0,
            inserted=data.get("inserted") or 0,
            updated=data.get("updated") or 0,
            row_count=data.get("row_count") or 0,
            message=data.get("message") or "",
            dataset=Dataset.from_json(data["dataset"]),
            raw=data,
        )


@dataclass(frozen=True)
class Team:
    """A group of users; its `parameters` ({name: [allowed values]}) filter the dataset rows members read."""

    id: int
    uuid: str
    name: str
    description: str | None
    parameters: dict[str, list[Any]]
    member_ids: list[int]
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            description=data.get("description"),
            parameters=dict(data.get("parameters") or {}),
            member_ids=list(data.get("member_ids") or []),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Group:
    """A group of users (a team with governance): its privileges add to its members' roles, what is
    shared with it reaches them, and groups nest (see docs/governance.md)."""

    id: int
    uuid: str
    name: str
    display_name: str | None
    description: str | None
    visibility: str
    privileges: list[str]
    author_id: int | None
    parameters: dict[str, list[Any]]
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            display_name=data.get("display_name"),
            description=data.get("description"),
            visibility=data.get("visibility") or "DEFAULT",
            privileges=list(data.get("privileges") or []),
            author_id=data.get("author_id"),
            parameters=dict(data.get("parameters") or {}),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Grant:
    """Access to an object for a user or a group: `principal` is "user" or "group", `mode`
    READ_ONLY, MODIFY, or (to remove a share) NO_ACCESS."""

    principal: str
    id: int
    mode: str
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(principal=data["principal"], id=data["id"], mode=data["mode"], raw=data)

    def to_json(self) -> JSON:
        """The API's JSON object."""
        return {"principal": self.principal, "id": self.id, "mode": self.mode}


@dataclass(frozen=True)
class ObjectShares:
    """An object's shares (`type` "defined") or everyone it reaches ("effective"); the caller's `access`."""

    kind: str
    object_id: int
    type: str
    access: str
    grants: list[Grant]
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            kind=data.get("kind", ""),
            object_id=data["object_id"],
            type=data.get("type", "defined"),
            access=data.get("access", ""),
            grants=[Grant.from_json(g) for g in data.get("grants") or []],
            raw=data,
        )


@dataclass(frozen=True)
class SharedObject:
    """An object a user or group reaches through shares, and how."""

    kind: str
    object_id: int
    mode: str
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(kind=data["kind"], object_id=data["object_id"], mode=data["mode"], raw=data)


@dataclass(frozen=True)
class AccountUsage:
    """The organization's usage this calendar month (UTC) beside its limits (None: unlimited)."""

    account: JSON
    usage: JSON
    limits: dict[str, int | None]
    period_start: datetime | None
    period_end: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        period = data.get("period") or {}
        return cls(
            account=dict(data.get("account") or {}),
            usage=dict(data.get("usage") or {}),
            limits=dict(data.get("limits") or {}),
            period_start=parse_time(period.get("start")),
            period_end=parse_time(period.get("end")),
            raw=data,
        )


@dataclass(frozen=True)
class UserActivity:
    """What one user did: dashboard views, runs (queries and scripts) and API calls."""

    user_id: int
    email: str
    name: str
    views: int
    runs: int
    api_calls: int
    last_seen: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            user_id=data["user_id"],
            email=data.get("email", ""),
            name=data.get("name", ""),
            views=int(data.get("views") or 0),
            runs=int(data.get("runs") or 0),
            api_calls=int(data.get("api_calls") or 0),
            last_seen=parse_time(data.get("last_seen")),
            raw=data,
        )


@dataclass(frozen=True)
class DashboardActivity:
    """How often a dashboard was viewed, and by how many distinct users."""

    dashboard_id: int
    name: str
    views: int
    viewers: int
    last_viewed: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            dashboard_id=data["dashboard_id"],
            name=data.get("name", ""),
            views=int(data.get("views") or 0),
            viewers=int(data.get("viewers") or 0),
            last_viewed=parse_time(data.get("last_viewed")),
            raw=data,
        )


# ----- event pipelines ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PipelineInput:
    """A source of events: a REST webhook, a file drop, a database table, or a stored vendor source."""

    id: int
    uuid: str
    name: str
    type: str
    configuration: JSON
    webhook_url: str | None
    paused: bool
    sleep_seconds: float
    status: str
    error_message: str | None
    error_count: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    deleted_at: datetime | None
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @property
    def token(self) -> str | None:
        """A REST input's webhook token."""
        token = self.configuration.get("token")
        return str(token) if token is not None else None

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            uuid=data.get("uuid", ""),
            name=data.get("name", ""),
            type=data.get("type", ""),
            configuration=dict(data.get("configuration") or {}),
            webhook_url=data.get("webhook_url"),
            paused=bool(data.get("paused")),
            sleep_seconds=float(data.get("sleep_seconds") or 0),
            status=data.get("status", ""),
            error_message=data.get("error_message"),
            error_count=int(data.get("error_count") or 0),
            last_run_at=parse_time(data.get("last_run_at")),
            last_success_at=parse_time(data.get("last_success_at")),
            deleted_at=parse_time(data.get("deleted_at")),
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class EventType:
    """A kind of event: its field tree (`fields`, in the mapping document's shape) and where it loads."""

    id: int
    name: str
    state: str  # MAPPED, UNMAPPED, DISCARDED
    mapping_mode: str
    using_default_mapping_mode: bool
    input_id: int | None
    input_name: str | None
    table_name: str | None
    schema: str | None
    is_discarded: bool
    auto_mapping_error: str | None
    fields: list[JSON]
    raw: JSON = field(repr=False, compare=False)

    @property
    def field_names(self) -> list[str]:
        """The top-level field names."""
        return [str(f.get("fieldName")) for f in self.fields]

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data.get("id") or 0,
            name=data["name"],
            state=data.get("state", ""),
            mapping_mode=data.get("mapping_mode", ""),
            using_default_mapping_mode=bool(data.get("using_default_mapping_mode")),
            input_id=data.get("input_id"),
            input_name=data.get("input_name"),
            table_name=data.get("table_name"),
            schema=data.get("schema"),
            is_discarded=bool(data.get("is_discarded")),
            auto_mapping_error=data.get("auto_mapping_error"),
            fields=list(data.get("fields") or []),
            raw=data,
        )


@dataclass(frozen=True)
class CodeModule:
    """A Python module of the Code Engine; `main` defines `transform(event)`."""

    name: str
    code: str
    is_default: bool
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            name=data["name"],
            code=data.get("code") or "",
            is_default=bool(data.get("is_default")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class TransformTest:
    """What the transform made of one sample: the event (None: dropped or failed), what it printed."""

    result: JSON | None
    output: str
    runtime_ms: float
    error: str | None
    raw: JSON = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the transform ran without an error."""
        return self.error is None

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            result=data.get("result"),
            output=data.get("output") or "",
            runtime_ms=float(data.get("runtime_ms") or 0),
            error=data.get("error"),
            raw=data,
        )


@dataclass(frozen=True)
class Sample:
    """A recent event of an event type (as it entered the pipeline) and what became of it."""

    id: int
    event_type: str
    status: str
    error: str | None
    input_id: int | None
    event: Any
    created_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            event_type=data.get("event_type", ""),
            status=data.get("status", ""),
            error=data.get("error"),
            input_id=data.get("input_id"),
            event=data.get("event"),
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class MetricPoint:
    """One bucket of a metric series (None: no event in it, for averages and latencies)."""

    time: datetime
    value: float | None


@dataclass(frozen=True)
class PipelineMetrics:
    """Metric series over the last `minutes`, one point per `resolution` minutes."""

    minutes: int
    resolution: int
    series: dict[str, list[MetricPoint]]
    raw: JSON = field(repr=False, compare=False)

    def total(self, name: str) -> float:
        """The sum of a series (counts: events in the window)."""
        return float(sum(p.value or 0 for p in self.series[name]))

    def to_pandas(self) -> Any:
        """A `pandas.DataFrame` indexed by time, one column per metric (needs `openlytics[pandas]`)."""
        from . import _optional

        pd = _optional.pandas()
        columns = {name: [p.value for p in points] for name, points in self.series.items()}
        first = next(iter(self.series.values()), [])
        index = pd.DatetimeIndex([p.time for p in first], name="time")
        return pd.DataFrame(columns, index=index, dtype="float64")

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        series = {
            s["name"]: [
                MetricPoint(time=parse_time(p["time"]), value=p.get("value"))  # type: ignore[arg-type]
                for p in s.get("points") or []
            ]
            for s in data.get("series") or []
        }
        return cls(
            minutes=int(data.get("minutes") or 0),
            resolution=int(data.get("resolution") or 1),
            series=series,
            raw=data,
        )


@dataclass(frozen=True)
class PipelineNotification:
    """Something the pipeline wants people to know (`count`: repeats within a minute)."""

    id: int
    type: str
    severity: str
    message: str
    params: JSON
    count: int
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            type=data.get("type", ""),
            severity=data.get("severity", ""),
            message=data.get("message", ""),
            params=dict(data.get("params") or {}),
            count=int(data.get("count") or 1),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class PipelineOutput:
    """Where mapped events load: the warehouse, or a PostgreSQL/Redshift database (passwords masked)."""

    id: int
    name: str
    type: str
    configuration: JSON
    is_warehouse: bool
    validated: bool
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            type=data.get("type", ""),
            configuration=dict(data.get("configuration") or {}),
            is_warehouse=bool(data.get("is_warehouse")),
            validated=bool(data.get("validated")),
            raw=data,
        )


@dataclass(frozen=True)
class OutputColumn:
    """A column of an output table; `column_type` is `{"type", "length"?, "nonNull"}`."""

    name: str
    column_type: JSON
    primary_key: bool
    dist_key: bool
    sort_key_index: int

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            name=data["name"],
            column_type=dict(data.get("column_type") or {}),
            primary_key=bool(data.get("primary_key")),
            dist_key=bool(data.get("dist_key")),
            sort_key_index=int(data.get("sort_key_index", -1)),
        )


@dataclass(frozen=True)
class OutputTable:
    """A table of the output (`columns` is empty when listed shallow)."""

    schema: str
    name: str
    columns: list[OutputColumn]
    raw: JSON = field(repr=False, compare=False)

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return [c.name for c in self.columns]

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            schema=data.get("schema", ""),
            name=data["name"],
            columns=[OutputColumn.from_json(c) for c in data.get("columns") or []],
            raw=data,
        )


@dataclass(frozen=True)
class ScheduledQuery:
    """A query run on the output on a schedule: an event type's consolidation, or a custom query."""

    id: int
    event_type: str
    query_type: str  # default | custom
    query: str
    frequency: float | None
    run_at: str | None
    status: str  # active | error | done
    error_message: str | None
    error_count: int
    last_success_time: datetime | None
    next_processing_time: datetime | None
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            id=data["id"],
            event_type=data.get("event_type", ""),
            query_type=data.get("query_type", ""),
            query=data.get("query") or "",
            frequency=data.get("frequency"),
            run_at=data.get("run_at"),
            status=data.get("status", ""),
            error_message=data.get("error_message"),
            error_count=int(data.get("error_count") or 0),
            last_success_time=parse_time(data.get("last_success_time")),
            next_processing_time=parse_time(data.get("next_processing_time")),
            raw=data,
        )


@dataclass(frozen=True)
class RestreamQueue:
    """Events waiting to be sent through the pipeline again, and their size in bytes."""

    events: int
    bytes: int

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(events=int(data.get("events") or 0), bytes=int(data.get("bytes") or 0))


@dataclass(frozen=True)
class ExportedObject:
    """One exported object (docs/objects-as-code.md): its `document`, and the same as YAML or JSON `text`."""

    kind: str
    guid: str
    name: str
    document: JSON
    text: str
    raw: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            kind=data.get("kind", ""),
            guid=data.get("guid", ""),
            name=data.get("name", ""),
            document=dict(data.get("document") or {}),
            text=data.get("text", ""),
            raw=data,
        )


@dataclass(frozen=True)
class ImportItemError:
    """Why one document of an import failed: the error `code` (e.g. "invalid_input") and message."""

    code: str
    message: str
    details: JSON = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        return cls(
            code=data.get("code", ""), message=data.get("message", ""), details=data.get("details") or {}
        )


@dataclass(frozen=True)
class ImportItem:
    """What an import did (or would do) with one document: `action` "create", "update" or
    "unchanged", the top-level fields it `changes`, or its `error`. `index` counts the documents
    (a text may hold several); `source` is the position of the text or object they came from."""

    index: int
    source: int
    kind: str | None
    name: str
    guid: str | None
    action: str
    changes: list[str]
    error: ImportItemError | None
    raw: JSON = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the document was (or would be) applied."""
        return self.error is None

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        error = data.get("error")
        return cls(
            index=int(data.get("index") or 0),
            source=int(data.get("source") or 0),
            kind=data.get("kind"),
            name=data.get("name") or "",
            guid=data.get("guid"),
            action=data.get("action", ""),
            changes=list(data.get("changes") or []),
            error=ImportItemError.from_json(error) if error else None,
            raw=data,
        )


@dataclass(frozen=True)
class ImportReport:
    """Every document's outcome, in input order, and whether changes were committed (`applied`)."""

    applied: bool
    ok: bool
    items: list[ImportItem]
    raw: JSON = field(repr=False, compare=False)

    @property
    def failed(self) -> list[ImportItem]:
        """The items whose document failed."""
        return [item for item in self.items if not item.ok]

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Build from the API's JSON object."""
        items = [ImportItem.from_json(item) for item in data.get("items") or []]
        return cls(
            applied=bool(data.get("applied")),
            ok=bool(data.get("ok", all(item.ok for item in items))),
            items=items,
            raw=data,
        )
