"""Server settings: one pydantic-settings class, built explicitly and passed to `create_app`.

Nothing here is read at import time; tests construct `Settings(...)` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "openlytics-dev-secret-key-change-me"  # noqa: S105 - refused outside dev mode


class SmtpSettings(BaseModel):
    """Outgoing e-mail (alert notifications); no host means e-mail is off."""

    host: str = ""
    port: int = 25
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str = "openlytics@localhost"
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = 10.0


class ScriptSettings(BaseModel):
    """User code in the sandbox (scripts, conversions): the most a run may use, and who runs it."""

    cpu_seconds: int = 300
    wall_seconds: float = 600.0
    memory_mb: int = 2048
    max_output_bytes: int = 1_000_000  # per stream; the rest is dropped and the log says so
    workers: int = 2  # runs at once; more wait their turn (and count as running)
    # The unprivileged user programs run as when the server runs as root.
    user: str = "nobody"
    # Besides the data directory and the server's home: more paths a program must not see.
    hidden_paths: list[Path] = Field(default_factory=list)


class AccountLimitSettings(BaseModel):
    """What an organization may hold (OPENLYTICS_LIMITS__ROWS, ...); None means unlimited.

    Reported only, not enforced: the account usage endpoints show each limit beside the usage;
    nothing is refused when a limit is passed.
    """

    rows: int | None = None  # rows over all datasets
    data_sets: int | None = None
    dashboards: int | None = None
    users: int | None = None
    storage_mb: int | None = None
    api_calls_per_month: int | None = None


class RateLimitSettings(BaseModel):
    """Requests per credential (OPENLYTICS_RATE_LIMITS__PER_CREDENTIAL, ...), in `limits` notation
    ("6000/minute", "100/second"); past it a request gets 429 with Retry-After (docs/security.md)."""

    enabled: bool = True
    # Per presented credential (API key, token, session cookie, webhook token in the path); requests
    # without any are counted per client address.
    per_credential: str = "6000/minute"
    # Where the counters live: empty means this process's memory (one process), or the broker when
    # it is Redis (many processes share one count); else a `limits` storage URL (redis://...).
    storage_url: str = ""


class Settings(BaseSettings):
    """Every knob of the server; env names are `OPENLYTICS_<NAME>` (nested with `__`)."""

    model_config = SettingsConfigDict(env_prefix="OPENLYTICS_", env_nested_delimiter="__", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./openlytics-data")
    dev_mode: bool = True

    # Metadata store; empty means SQLite in the data directory.
    database_url: str = ""
    # Key for Fernet encryption of secrets at rest (data source passwords, API keys).
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    admin_email: str = "admin@example.com"
    admin_password: SecretStr | None = None
    admin_api_key: SecretStr | None = None
    admin_name: str = "Admin"
    organization_name: str = "Default"

    # Executor and jobs: "local" (a thread pool in this process) or "celery" (workers started with
    # `openlytics worker`, reached through the broker); see docs/scale-out.md.
    executor: Literal["local", "celery"] = "local"
    executor_workers: int = 4
    broker_url: str = "redis://127.0.0.1:6379/0"
    script_queue: str = "scripts"  # the queue script runs go to with the celery executor
    # Workers beat this often; a STARTED job whose worker has not beaten for worker_lost_seconds fails.
    worker_heartbeat_seconds: float = 5.0
    worker_lost_seconds: float = 30.0
    default_query_timeout: float = 300.0
    max_wait_seconds: float = 30.0
    # Finished jobs and results older than these are deleted (a query's latest result is kept).
    job_retention_days: float = 30
    result_retention_days: float = 7
    maintenance_interval_seconds: float = 3600

    # The pipeline's incoming spool (durable queue of events); empty means <data_dir>/pipeline. With
    # the celery executor, API processes and `openlytics worker` processes must share it.
    pipeline_spool_dir: Path | None = None

    # Results
    results_dir: Path | None = None
    # Or any filesystem URL pyarrow or fsspec can open (file:///shared/results, s3://bucket/results,
    # gs://..., memory://...); set, it wins over results_dir (docs/scale-out.md).
    results_url: str = ""
    max_result_rows: int = 10_000_000
    max_result_bytes: int = 2 * 1024**3
    inline_result_rows: int = 1000
    # fsync result files: off by default, results are a cache that a query rebuilds.
    results_fsync: bool = False

    # Scheduler
    scheduler_enabled: bool = True
    scheduler_poll_seconds: float = 1.0

    # Sessions
    session_ttl_seconds: int = 14 * 24 * 3600
    session_cookie_name: str = "openlytics_session"

    # External file-based data sources (SQLite, DuckDB files) must live under these directories.
    file_source_dirs: list[Path] = Field(default_factory=list)

    # Notifications: e-mail through SMTP (OPENLYTICS_SMTP__HOST, ...) and webhooks.
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    webhook_timeout_seconds: float = 10.0
    # E-mails people send through the API (alerts are not counted), per organization and day.
    email_daily_quota: int = 50
    # Uploaded files (dataset loads, attachments): size limit and how long a signed URL is valid.
    upload_max_bytes: int = 20 * 1024**3
    # JSON and form request bodies (queries, rows, events, settings); files go by upload_max_bytes.
    max_json_request_bytes: int = 64 * 1024**2
    upload_url_ttl_seconds: int = 900

    # The address people use to reach this server, for links in e-mails and shared dashboards;
    # empty means the address of the request.
    public_url: str = ""
    # The address user code (scripts) calls this server back on; empty means public_url, else
    # http://host:port.
    internal_url: str = ""
    # Scripts: OPENLYTICS_SCRIPTS__CPU_SECONDS, __WALL_SECONDS, __MEMORY_MB, __MAX_OUTPUT_BYTES, ...
    scripts: ScriptSettings = Field(default_factory=ScriptSettings)

    # OAuth 2.0 client credentials: how long an access token from the token endpoint is valid.
    oauth_token_ttl_seconds: int = 3600
    # Activity log (API calls, dashboard views, runs): kept this long, then purged by maintenance.
    activity_retention_days: float = 400
    limits: AccountLimitSettings = Field(default_factory=AccountLimitSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)

    # Warehouse: empty means one DuckDB file per organization; a PostgreSQL URL (a user that may
    # create roles and schemas) gives NEW organizations a schema and role there (docs/scale-out.md).
    warehouse_url: str = ""
    # Engines (warehouses, data sources) unused this long close their idle connections.
    engine_idle_seconds: float = 300
    # DuckDB warehouse
    warehouse_memory_limit: str = "2GB"
    warehouse_threads: int = 2

    @model_validator(mode="after")
    def _refuse_default_secret_outside_dev(self) -> Settings:
        if not self.dev_mode and self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            raise ValueError("OPENLYTICS_SECRET_KEY must be set when dev_mode is off")
        return self

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata store."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'metadata.db').resolve()}"

    @property
    def results_path(self) -> Path:
        """Directory where query results are kept as Arrow files."""
        return (self.results_dir or self.data_dir / "results").resolve()

    @property
    def pipeline_spool_path(self) -> Path:
        """Directory of the pipeline's incoming spool."""
        return (self.pipeline_spool_dir or self.data_dir / "pipeline").resolve()

    @property
    def callback_url(self) -> str:
        """Where user code reaches this server: internal_url, public_url or http://host:port."""
        return (self.internal_url or self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def warehouse_path(self) -> Path:
        """Directory holding one DuckDB file per organization."""
        return (self.data_dir / "warehouse").resolve()

    @property
    def allowed_file_dirs(self) -> list[Path]:
        """Directories where file-based data sources may live (always includes data_dir/files)."""
        return [(self.data_dir / "files").resolve(), *(p.resolve() for p in self.file_source_dirs)]
