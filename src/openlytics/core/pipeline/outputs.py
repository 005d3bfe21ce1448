"""The pipeline's output: where mapped events load (one per organization).

By default the output is the organization's own warehouse (type REDSHIFT, `target: "warehouse"`,
schema "public"). An administrator may point it at an external PostgreSQL database (Redshift speaks
its protocol): the configuration names `hostname`, `port`, `databaseName`, `username`, `password`
and `schemaName`; it is validated by connecting (unless `skipValidation`). SNOWFLAKE and BIGQUERY
outputs are checked for shape and stored, but this server has no way to reach them: validating one
fails, and with `skipValidation` its loads fail (the events wait in the restream queue).

Passwords (and an SSH tunnel's password) are encrypted with the `SecretBox` and shown as
`**********`; giving the mask back keeps the stored password. A PostgreSQL output also gets a data
source of kind postgresql (kept in sync here), so saved and scheduled queries can run on it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openlytics.core.datasets.service import DatasetService
from openlytics.core.errors import InvalidInputError, NotFoundError, OpenlyticsError
from openlytics.core.pipeline import require_read
from openlytics.core.pipeline.sinks import (
    WAREHOUSE_SCHEMA,
    PostgresSink,
    Sink,
    UnreachableSink,
    WarehouseSink,
)
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox
from openlytics.store.db import Database
from openlytics.store.models import DataSource, PipelineOutput

MASK = "**********"
WAREHOUSE_TARGET = "warehouse"
OUTPUT_SOURCE_NAME = "Pipeline output"
TYPES = ("REDSHIFT", "SNOWFLAKE", "BIGQUERY")
DEFAULT_NAMES = {"REDSHIFT": "Redshift", "SNOWFLAKE": "Snowflake", "BIGQUERY": "BigQuery"}
POSTGRES_KEYS = ("hostname", "port", "databaseName", "username", "password")
SNOWFLAKE_KEYS = ("warehouseName", "accountName", "schemaName", "databaseName", "username", "password")
BIGQUERY_KEYS = ("projectName", "datasetName")
UNREACHABLE = {
    "SNOWFLAKE": "Snowflake cannot be reached from this server (no Snowflake driver is installed); "
    "load into the warehouse or a PostgreSQL/Redshift output instead",
    "BIGQUERY": "BigQuery cannot be reached from this server (no BigQuery driver is installed); "
    "load into the warehouse or a PostgreSQL/Redshift output instead",
}

#: Called after an output changed (e.g. to re-point scheduled queries at its data source).
OutputListener = Callable[[Principal, PipelineOutput], None]


class OutputService:
    """Read and change an organization's output; hand out its sink."""

    def __init__(self, db: Database, box: SecretBox, datasets: DatasetService) -> None:
        self.db = db
        self.box = box
        self.datasets = datasets
        self.sources = datasets.sources
        self.on_change: list[OutputListener] = []
        self._sinks: dict[int, tuple[str, Sink]] = {}
        self._lock = threading.Lock()

    # ----- reading -----------------------------------------------------------------------------
    def get(self, principal: Principal) -> PipelineOutput:
        """The organization's output, created on first use as the warehouse."""
        require_read(principal, "pipeline output")
        return self._record(principal.org_id)

    def shown_configuration(self, record: PipelineOutput) -> dict[str, Any]:
        """The configuration as shown to users: passwords masked."""
        shown = dict(record.configuration or {})
        secrets = self._secrets(record)
        if secrets.get("password") is not None:
            shown["password"] = MASK
        return shown

    def is_warehouse(self, record: PipelineOutput) -> bool:
        """Whether the output is the organization's own warehouse."""
        return record.type == "REDSHIFT" and (record.configuration or {}).get("target") == WAREHOUSE_TARGET

    def default_schema(self, org_id: int) -> str:
        """The schema new tables go to."""
        record = self._record(org_id)
        if self.is_warehouse(record):
            return WAREHOUSE_SCHEMA
        return str((record.configuration or {}).get("schemaName") or WAREHOUSE_SCHEMA)

    def data_source(self, principal: Principal) -> DataSource:
        """The data source queries on the output run on: the warehouse, or the output's PostgreSQL."""
        record = self.get(principal)
        if self.is_warehouse(record):
            return self.sources.default(principal)
        if record.type != "REDSHIFT":
            raise InvalidInputError("output", UNREACHABLE[record.type])
        source_id = self._secrets(record).get("data_source_id")
        if source_id is None:
            raise NotFoundError("data source", "of the pipeline output")
        return self.sources.get(principal, int(source_id))

    # ----- sinks -------------------------------------------------------------------------------
    def sink(self, org_id: int) -> Sink:
        """The sink of the organization's current output (PostgreSQL pools are reused)."""
        record = self._record(org_id)
        if self.is_warehouse(record):
            return WarehouseSink(self.datasets, org_id)
        if record.type != "REDSHIFT":
            return UnreachableSink(DEFAULT_NAMES[record.type], UNREACHABLE[record.type])
        key = json.dumps(record.configuration, sort_keys=True) + (record.secrets_encrypted or "")
        with self._lock:
            cached = self._sinks.get(org_id)
            if cached is not None and cached[0] == key:
                return cached[1]
            sink = self._postgres_sink(record.configuration, self._secrets(record).get("password"))
            self._sinks[org_id] = (key, sink)
        if cached is not None and isinstance(cached[1], PostgresSink):
            cached[1].close()
        return sink

    def close(self) -> None:
        """Close the connection pools of PostgreSQL outputs."""
        with self._lock:
            sinks = [sink for _, sink in self._sinks.values()]
            self._sinks.clear()
        for sink in sinks:
            if isinstance(sink, PostgresSink):
                sink.close()

    # ----- changing ----------------------------------------------------------------------------
    def set(
        self, principal: Principal, *, type: str, configuration: dict[str, Any], name: str | None = None
    ) -> PipelineOutput:
        """Point the output somewhere else (admins); see the module docstring for the rules."""
        principal.require(Action.MANAGE_SOURCES, "pipeline output")
        kind = str(type or "").upper()
        if kind not in TYPES:
            raise InvalidInputError("type", f"one of {', '.join(TYPES)}")
        if not isinstance(configuration, dict):
            raise InvalidInputError("configuration", "an object")
        current = self._record(principal.org_id)
        skip = _flag(configuration.get("skipValidation", False))
        if kind == "REDSHIFT" and (
            configuration.get("target") == WAREHOUSE_TARGET or not configuration.get("hostname")
        ):
            shown: dict[str, Any] = {
                "sinkType": kind,
                "target": WAREHOUSE_TARGET,
                "schemaName": WAREHOUSE_SCHEMA,
                "skipValidation": skip,
            }
            secrets = {k: v for k, v in self._secrets(current).items() if k == "data_source_id"}
            validated = True
        elif kind == "REDSHIFT":
            shown, secrets = self._postgres(principal, current, configuration, skip)
            validated = not skip
        else:
            shown, secrets = self._unreachable(current, kind, configuration, skip)
            validated = False
        with self.db.session() as s:
            record = s.get(PipelineOutput, current.id)
            assert record is not None
            record.type = kind
            record.name = (name or "").strip() or DEFAULT_NAMES[kind]
            record.configuration = shown
            record.secrets_encrypted = self.box.encrypt(json.dumps(secrets)) if secrets else None
            record.validated = validated
        for listener in self.on_change:
            listener(principal, record)
        return record

    def _postgres(
        self, principal: Principal, current: PipelineOutput, configuration: dict[str, Any], skip: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        for key in POSTGRES_KEYS:
            if configuration.get(key) in (None, ""):
                raise InvalidInputError(f"configuration.{key}", "required")
        old_secrets = self._secrets(current)
        password = configuration["password"]
        if password == MASK:
            password = old_secrets.get("password")
            if password is None:
                raise InvalidInputError("configuration.password", "required")
        try:
            port = int(configuration["port"])
        except (TypeError, ValueError):
            raise InvalidInputError("configuration.port", "a port number") from None
        shown = {
            "sinkType": "REDSHIFT",
            "hostname": str(configuration["hostname"]),
            "port": port,
            "databaseName": str(configuration["databaseName"]),
            "username": str(configuration["username"]),
            "schemaName": str(configuration.get("schemaName") or WAREHOUSE_SCHEMA),
            "skipValidation": skip,
        }
        secrets: dict[str, Any] = {"password": str(password)}
        ssh = configuration.get("ssh")
        if ssh:
            shown["ssh"], ssh_password = _masked_ssh(ssh, old_secrets.get("ssh_password"))
            if ssh_password is not None:
                secrets["ssh_password"] = ssh_password
        if not skip:
            if ssh:
                raise InvalidInputError(
                    "configuration.ssh",
                    "SSH tunnels are not supported by this server: make the database reachable "
                    "directly, or set skipValidation to store the configuration anyway",
                )
            self._validate_postgres(shown, secrets["password"])
        secrets["data_source_id"] = self._sync_source(
            principal, old_secrets.get("data_source_id"), shown, password
        )
        return shown, secrets

    def _validate_postgres(self, shown: dict[str, Any], password: str) -> None:
        sink = self._postgres_sink(shown, password)
        try:
            sink.test()
            if shown["schemaName"] not in sink.schemas():
                raise InvalidInputError(
                    "configuration.schemaName", f"no schema {shown['schemaName']!r} in the database"
                )
        except InvalidInputError:
            raise
        except OpenlyticsError as exc:
            raise InvalidInputError("configuration", str(getattr(exc, "reason", exc.message))) from None
        finally:
            sink.close()

    def _sync_source(self, principal: Principal, source_id: Any, shown: dict[str, Any], password: str) -> int:
        """The postgresql data source of the output, created or pointed at the new database."""
        url = _url(shown, password).render_as_string(hide_password=False)
        if source_id is not None:
            try:
                return self.sources.update(principal, int(source_id), url=url).id
            except NotFoundError:
                pass  # deleted by an administrator: make a new one
        with self.db.session() as s:
            taken = set(s.scalars(select(DataSource.name).where(DataSource.org_id == principal.org_id)))
        name, n = OUTPUT_SOURCE_NAME, 1
        while name in taken:
            n += 1
            name = f"{OUTPUT_SOURCE_NAME} ({n})"
        return self.sources.create(principal, name=name, url=url).id

    def _unreachable(
        self, current: PipelineOutput, kind: str, configuration: dict[str, Any], skip: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        keys = SNOWFLAKE_KEYS if kind == "SNOWFLAKE" else BIGQUERY_KEYS
        for key in keys:
            if configuration.get(key) in (None, ""):
                raise InvalidInputError(f"configuration.{key}", "required")
        if not skip:
            raise InvalidInputError("configuration", UNREACHABLE[kind])
        shown = {key: configuration[key] for key in keys if key != "password"}
        shown |= {"sinkType": kind, "skipValidation": skip}
        old_secrets = self._secrets(current)
        secrets = {k: v for k, v in old_secrets.items() if k == "data_source_id"}
        if "password" in keys:
            password = configuration["password"]
            secrets["password"] = old_secrets.get("password") if password == MASK else password
        return shown, secrets

    # ----- helpers -----------------------------------------------------------------------------
    def _record(self, org_id: int) -> PipelineOutput:
        with self.db.session() as s:
            record = s.scalar(select(PipelineOutput).where(PipelineOutput.org_id == org_id))
            if record is not None:
                return record
        try:
            with self.db.session() as s:
                record = PipelineOutput(
                    org_id=org_id,
                    name=DEFAULT_NAMES["REDSHIFT"],
                    type="REDSHIFT",
                    configuration={
                        "sinkType": "REDSHIFT",
                        "target": WAREHOUSE_TARGET,
                        "schemaName": WAREHOUSE_SCHEMA,
                        "skipValidation": False,
                    },
                    validated=True,
                )
                s.add(record)
            return record
        except IntegrityError:  # created meanwhile by another thread
            with self.db.session() as s:
                found = s.scalar(select(PipelineOutput).where(PipelineOutput.org_id == org_id))
            assert found is not None
            return found

    def _secrets(self, record: PipelineOutput) -> dict[str, Any]:
        if not record.secrets_encrypted:
            return {}
        loaded = json.loads(self.box.decrypt(record.secrets_encrypted))
        return loaded if isinstance(loaded, dict) else {}

    @staticmethod
    def _postgres_sink(configuration: dict[str, Any], password: str | None) -> PostgresSink:
        return PostgresSink(
            _url(configuration, password or ""),
            default_schema=str(configuration.get("schemaName") or WAREHOUSE_SCHEMA),
        )


def _url(configuration: dict[str, Any], password: str) -> sa.URL:
    return sa.URL.create(
        "postgresql+psycopg",
        username=str(configuration["username"]),
        password=password,
        host=str(configuration["hostname"]),
        port=int(configuration["port"]),
        database=str(configuration["databaseName"]),
    )


def _flag(value: Any) -> bool:
    """`skipValidation` arrives as a bool or as "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _masked_ssh(value: Any, old_password: str | None) -> tuple[str, str | None]:
    """The SSH settings (a JSON string) with the password masked, and the password to keep."""
    try:
        ssh = json.loads(value) if isinstance(value, str) else dict(value)
    except (ValueError, TypeError):
        raise InvalidInputError(
            "configuration.ssh", "a JSON object {server, port, username, password}"
        ) from None
    if not isinstance(ssh, dict):
        raise InvalidInputError("configuration.ssh", "a JSON object {server, port, username, password}")
    password = ssh.get("password")
    if password == MASK:
        password = old_password
    if password is not None:
        ssh["password"] = MASK
    return json.dumps(ssh), password
