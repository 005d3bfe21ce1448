# Generated from _async/pipeline.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Event pipelines: inputs, event types and mappings, the Code Engine, the restream queue, samples,
metrics, the output with its tables, scheduled queries and settings (`client.pipeline`)."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from openlytics.client import _optional
from openlytics.client._uploads import FileChunks
from openlytics.client.models import (
    CodeModule,
    EventType,
    OutputTable,
    PipelineInput,
    PipelineMetrics,
    PipelineNotification,
    PipelineOutput,
    RestreamQueue,
    Sample,
    ScheduledQuery,
    ScheduleRun,
    TransformTest,
)

from .http import HTTP, ProgressCallback

if TYPE_CHECKING:
    import pandas as pd

P = "/pipeline"
#: An input as the SDK accepts it: its id or the `PipelineInput` itself.
InputRef = int | PipelineInput
#: How long (s) the server may take to read an uploaded file after its body is sent.
UPLOAD_TIMEOUT = 3600.0


def _input_id(ref: InputRef) -> int:
    return ref.id if isinstance(ref, PipelineInput) else int(ref)


def _type_path(name: str | EventType) -> str:
    text = name.name if isinstance(name, EventType) else name
    return f"{P}/event-types/{quote(text, safe='/')}"


class Inputs:
    """`client.pipeline.inputs`: REST webhooks, file drops and database tables feeding the pipeline."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self, *, include_deleted: bool = False) -> Iterator[PipelineInput]:
        """Every input, oldest first (removed ones too with `include_deleted`)."""
        for item in self._http.paginate(f"{P}/inputs", {"include_deleted": include_deleted or None}):
            yield PipelineInput.from_json(item)

    def get(self, input: InputRef) -> PipelineInput:
        """One input (secrets masked; a REST input shows its webhook `token` and `webhook_url`)."""
        return PipelineInput.from_json(self._http.request("GET", f"{P}/inputs/{_input_id(input)}"))

    def find(self, name: str) -> PipelineInput | None:
        """The input with this name, or None."""
        for candidate in self.list():
            if candidate.name == name:
                return candidate
        return None

    def create(
        self,
        name: str,
        type: str = "REST",
        configuration: Mapping[str, Any] | None = None,
        *,
        validate: bool = True,
    ) -> PipelineInput:
        """A new input (admins): `type` REST (a webhook), FILE (`{"path"}`), POSTGRESQL or MYSQL
        (`{"hostname", "port", "database", "username", "password", "table", "incrementalColumn"}`)."""
        body = {"name": name, "type": type, "configuration": dict(configuration or {}), "validate": validate}
        return PipelineInput.from_json(self._http.request("POST", f"{P}/inputs", json=body))

    def update(
        self,
        input: InputRef,
        *,
        name: str | None = None,
        configuration: Mapping[str, Any] | None = None,
        validate: bool = True,
    ) -> PipelineInput:
        """Rename an input or replace its configuration (a masked secret sent back keeps its value)."""
        body: dict[str, Any] = {"validate": validate}
        if name is not None:
            body["name"] = name
        if configuration is not None:
            body["configuration"] = dict(configuration)
        path = f"{P}/inputs/{_input_id(input)}"
        return PipelineInput.from_json(self._http.request("PATCH", path, json=body))

    def delete(self, input: InputRef) -> None:
        """Remove an input (a webhook's token stops working)."""
        self._http.request("DELETE", f"{P}/inputs/{_input_id(input)}")

    def pause(self, input: InputRef) -> PipelineInput:
        """Pause: the webhook refuses events, polling stops."""
        path = f"{P}/inputs/{_input_id(input)}/pause"
        return PipelineInput.from_json(self._http.request("POST", path))

    def resume(self, input: InputRef) -> PipelineInput:
        """Resume a paused input."""
        path = f"{P}/inputs/{_input_id(input)}/resume"
        return PipelineInput.from_json(self._http.request("POST", path))

    def set_sleep(self, input: InputRef, seconds: float) -> PipelineInput:
        """Seconds a polled input waits between reads."""
        path = f"{P}/inputs/{_input_id(input)}/sleep"
        return PipelineInput.from_json(self._http.request("PUT", path, json={"seconds": seconds}))

    def poll(self, input: InputRef) -> int:
        """Read a FILE or database input now; how many events were queued."""
        data = self._http.request("POST", f"{P}/inputs/{_input_id(input)}/poll")
        return int(data["events"])

    def upload(
        self,
        input: InputRef,
        file: str | os.PathLike[str],
        *,
        filename: str | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = UPLOAD_TIMEOUT,
    ) -> int:
        """Send a CSV (header row) or JSON-lines file (streamed from disk) to a FILE input; how many
        events were queued. The format follows the name (`.csv`, `.tsv`, `.json`, `.jsonl`, `.gz`)."""
        content = FileChunks(file, progress)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(content.size)}
        params = {"filename": filename or os.path.basename(os.fspath(file))}
        base = self._http.timeout
        longer = httpx.Timeout(connect=base.connect, read=timeout, write=base.write, pool=base.pool)
        data = self._http.request(
            "POST",
            f"{P}/inputs/{_input_id(input)}/files",
            params=params,
            content=content,
            headers=headers,
            timeout=longer,
        )
        return int(data["events"])


class EventTypes:
    """`client.pipeline.event_types`: kinds of events, their fields and mappings."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self) -> Iterator[EventType]:
        """Every event type, by name."""
        for item in self._http.paginate(f"{P}/event-types"):
            yield EventType.from_json(item)

    def get(self, name: str) -> EventType:
        """One event type by name."""
        return EventType.from_json(self._http.request("GET", _type_path(name)))

    def set_mapping(self, name: str | EventType, document: Mapping[str, Any]) -> EventType:
        """Replace the mapping: `{"mapping": {"tableName", "schema"?, "isDiscarded"?}, "fields":
        [{"fieldName", "mapping": {"columnName", "columnType": {"type", ...}}, "fields"}],
        "mappingMode"?}`."""
        path = _type_path(name) + "/mapping"
        return EventType.from_json(self._http.request("PUT", path, json=dict(document)))

    def discard(self, name: str | EventType) -> EventType:
        """Drop the type's events from now on (neither loaded nor restreamed)."""
        return EventType.from_json(self._http.request("POST", _type_path(name) + "/discard"))

    def delete(self, name: str | EventType) -> None:
        """Forget the type with its samples and counts."""
        self._http.request("DELETE", _type_path(name))


class Code:
    """`client.pipeline.code`: the Code Engine's modules (`main` holds `transform(event)`) and secrets."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def modules(self) -> builtins.list[CodeModule]:
        """The saved modules, by name."""
        data = self._http.request("GET", f"{P}/code/modules")
        return [CodeModule.from_json(m) for m in data["items"]]

    def get(self, name: str = "main") -> CodeModule:
        """One module (`main` before any is saved: the default transform, `is_default`)."""
        return CodeModule.from_json(self._http.request("GET", f"{P}/code/modules/{quote(name)}"))

    def set(self, code: str | None = None, **modules: str) -> builtins.list[CodeModule]:
        """Save `code` as `main` and/or named modules (`helpers="..."`); the others stay. Code that
        does not compile raises ValidationError naming the module and the line."""
        body = dict(modules)
        if code is not None:
            body["main"] = code
        if not body:
            raise ValueError("give the code of main, or modules by name")
        data = self._http.request("PUT", f"{P}/code/modules", json=body)
        return [CodeModule.from_json(m) for m in data["items"]]

    def delete(self, name: str) -> None:
        """Delete a module."""
        self._http.request("DELETE", f"{P}/code/modules/{quote(name)}")

    def reset(self) -> CodeModule:
        """Set `main` back to the transform that returns events unchanged."""
        return CodeModule.from_json(self._http.request("POST", f"{P}/code/reset"))

    def test(
        self, sample: Mapping[str, Any], code: str | None = None, *, modules: Mapping[str, str] | None = None
    ) -> TransformTest:
        """Run the transform (`code` as main, else the saved one) on one event, saving nothing."""
        body: dict[str, Any] = {"sample": dict(sample)}
        if code is not None:
            body["code"] = code
        if modules is not None:
            body["modules"] = dict(modules)
        return TransformTest.from_json(self._http.request("POST", f"{P}/code/test", json=body))

    def requirements(self) -> builtins.list[dict[str, str]]:
        """Packages transforms may import besides the standard library: `[{"name", "version"}]`."""
        data = self._http.request("GET", f"{P}/code/requirements")
        return builtins.list(data["items"])

    def secrets(self) -> builtins.list[str]:
        """The names of the secrets transforms read (`from transform_secrets import secrets`)."""
        return builtins.list((self._http.request("GET", f"{P}/secrets"))["names"])

    def set_secrets(self, values: Mapping[str, str] | None = None, **more: str) -> builtins.list[str]:
        """Create or replace secrets (values are never shown again); the names afterwards."""
        body = {**dict(values or {}), **more}
        return builtins.list((self._http.request("PUT", f"{P}/secrets", json=body))["names"])

    def delete_secret(self, name: str) -> None:
        """Delete a secret."""
        self._http.request("DELETE", f"{P}/secrets/{quote(name)}")


class Pipeline:
    """`client.pipeline`: the organization's event pipeline."""

    def __init__(self, http: HTTP) -> None:
        self._http = http
        self.inputs = Inputs(http)
        self.event_types = EventTypes(http)
        self.code = Code(http)

    # ----- mapping mode and restream ------------------------------------------------------------
    def mapping_mode(self) -> str:
        """The default mapping mode: AUTO_MAP, STRICT or FLEXIBLE."""
        return str((self._http.request("GET", f"{P}/mapping-mode"))["mode"])

    def set_mapping_mode(self, mode: str) -> str:
        """Set the default mapping mode (admins)."""
        return str((self._http.request("PUT", f"{P}/mapping-mode", json={"mode": mode}))["mode"])

    def restream_queue(self) -> RestreamQueue:
        """How many events (and bytes) wait in the restream queue."""
        return RestreamQueue.from_json(self._http.request("GET", f"{P}/restream"))

    def restream(self) -> int:
        """Send every queued event through the pipeline again; how many."""
        return int((self._http.request("POST", f"{P}/restream"))["restreamed"])

    def purge_restream(self) -> int:
        """Delete every queued event; how many."""
        return int((self._http.request("DELETE", f"{P}/restream"))["purged"])

    # ----- samples, metrics, notifications ------------------------------------------------------
    def samples(
        self, event_type: str | None = None, status: str | Sequence[str] | None = None, *, limit: int = 10
    ) -> builtins.list[Sample]:
        """The newest samples, of one event type and some statuses (`"TRANSFORM_ERROR"`, ...)."""
        statuses = [status] if isinstance(status, str) else builtins.list(status or [])
        params = {"event_type": event_type, "status": ",".join(statuses) or None, "limit": limit}
        data = self._http.request("GET", f"{P}/samples", params=_given(params))
        return [Sample.from_json(s) for s in data["items"]]

    def sample_stats(self) -> dict[str, dict[str, int]]:
        """`{event type: {status: count}}`."""
        return dict((self._http.request("GET", f"{P}/samples/stats"))["stats"])

    def status_codes(self) -> dict[str, str]:
        """`{status: description}`."""
        data = self._http.request("GET", f"{P}/status-codes")
        return {c["code"]: c["description"] for c in data["items"]}

    def metrics(
        self, names: str | Sequence[str] | None = None, minutes: int = 60, resolution: int = 1
    ) -> PipelineMetrics:
        """Metric series over the last `minutes` (`INCOMING_EVENTS`, `LOADED_EVENTS_RATE`,
        `ERROR_EVENTS`, `UNMAPPED_EVENTS` by default); `.to_pandas()` makes a DataFrame."""
        wanted = [names] if isinstance(names, str) else builtins.list(names or [])
        params = {"names": ",".join(wanted) or None, "minutes": minutes, "resolution": resolution}
        return PipelineMetrics.from_json(
            self._http.request("GET", f"{P}/metrics", params=_given(params))
        )

    def metrics_frame(
        self, names: str | Sequence[str] | None = None, minutes: int = 60, resolution: int = 1
    ) -> pd.DataFrame:
        """`metrics(...)` as a `pandas.DataFrame` indexed by time (needs `openlytics[pandas]`)."""
        _optional.pandas()
        return (self.metrics(names, minutes, resolution)).to_pandas()

    def metric_names(self) -> builtins.list[str]:
        """Every metric `metrics` draws."""
        return builtins.list((self._http.request("GET", f"{P}/metric-names"))["items"])

    def notifications(self, since: datetime | None = None) -> builtins.list[PipelineNotification]:
        """Notifications created or repeated since `since` (default: the last 24 hours)."""
        params = _given({"since": since.isoformat() if since is not None else None})
        data = self._http.request("GET", f"{P}/notifications", params=params)
        return [PipelineNotification.from_json(n) for n in data["items"]]

    # ----- output, tables, schemas --------------------------------------------------------------
    def output(self) -> PipelineOutput:
        """Where mapped events load."""
        return PipelineOutput.from_json(self._http.request("GET", f"{P}/output"))

    def set_output(
        self, type: str, configuration: Mapping[str, Any], *, name: str | None = None
    ) -> PipelineOutput:
        """Point the output elsewhere (`type` REDSHIFT with `{"target": "warehouse"}` for the warehouse)."""
        body = _given({"type": type, "configuration": dict(configuration), "name": name})
        return PipelineOutput.from_json(self._http.request("PUT", f"{P}/output", json=body))

    def tables(self, schema: str | None = None, *, shallow: bool = False) -> builtins.list[OutputTable]:
        """The output's tables (`shallow`: without columns)."""
        params = _given({"schema": schema, "shallow": shallow or None})
        data = self._http.request("GET", f"{P}/tables", params=params)
        return [OutputTable.from_json(t) for t in data["items"]]

    def table(self, name: str, schema: str = "public") -> OutputTable:
        """One table with its columns."""
        path = f"{P}/tables/{quote(schema)}/{quote(name)}"
        return OutputTable.from_json(self._http.request("GET", path))

    def create_table(self, name: str, columns: Sequence[Mapping[str, Any]]) -> OutputTable:
        """Create a table: columns `{"columnName", "columnType": {"type", "length"?}, "primaryKey"?}`."""
        body = {"name": name, "columns": [dict(c) for c in columns]}
        return OutputTable.from_json(self._http.request("POST", f"{P}/tables", json=body))

    def add_columns(self, name: str, columns: Sequence[Mapping[str, Any]]) -> OutputTable:
        """Add the columns that are new to a table."""
        body = {"columns": [dict(c) for c in columns]}
        return OutputTable.from_json(
            self._http.request("PATCH", f"{P}/tables/{quote(name)}", json=body)
        )

    def drop_table(self, name: str, schema: str = "public", *, cascade: bool = False) -> None:
        """Drop a table (with dependents only with `cascade`, which archives the dependent queries)."""
        path = f"{P}/tables/{quote(schema)}/{quote(name)}"
        self._http.request("DELETE", path, params=_given({"cascade": cascade or None}))

    def table_dependencies(self, name: str, schema: str = "public") -> builtins.list[str]:
        """What reads a table: `["query:Daily sales (12)", "dashboard:Ops (3)", ...]`."""
        path = f"{P}/tables/{quote(schema)}/{quote(name)}/dependencies"
        return builtins.list((self._http.request("GET", path))["items"])

    def schemas(self) -> builtins.list[str]:
        """The output's schemas, the default first."""
        items = (self._http.request("GET", f"{P}/schemas"))["items"]
        return [s["name"] for s in sorted(items, key=lambda s: not s["is_default"])]

    def create_schema(self, name: str) -> None:
        """Create a schema (PostgreSQL outputs)."""
        self._http.request("POST", f"{P}/schemas", json={"name": name})

    # ----- scheduled queries --------------------------------------------------------------------
    def scheduled_queries(self, event_type: str | None = None) -> builtins.list[ScheduledQuery]:
        """Scheduled queries on the output, oldest first."""
        data = self._http.request(
            "GET", f"{P}/scheduled-queries", params=_given({"event_type": event_type})
        )
        return [ScheduledQuery.from_json(q) for q in data["items"]]

    def schedule_query(
        self,
        event_type: str,
        query: str | None = None,
        *,
        frequency: float | None = None,
        run_at: str | None = None,
        custom_variables: Mapping[str, Any] | None = None,
    ) -> ScheduledQuery:
        """Schedule `query`, or without it the consolidation of the event type's table; every
        `frequency` hours or at `run_at` (a 5-field cron expression, UTC)."""
        body = _given(
            {
                "event_type": event_type,
                "query": query,
                "frequency": frequency,
                "run_at": run_at,
                "custom_variables": dict(custom_variables) if custom_variables else None,
            }
        )
        return ScheduledQuery.from_json(self._http.request("POST", f"{P}/scheduled-queries", json=body))

    def delete_scheduled_query(self, query: int | ScheduledQuery) -> None:
        """Remove a scheduled query."""
        query_id = query.id if isinstance(query, ScheduledQuery) else int(query)
        self._http.request("DELETE", f"{P}/scheduled-queries/{query_id}")

    def run_scheduled_query(self, query: int | ScheduledQuery) -> ScheduleRun:
        """Run a scheduled query now."""
        query_id = query.id if isinstance(query, ScheduledQuery) else int(query)
        return ScheduleRun.from_json(
            self._http.request("POST", f"{P}/scheduled-queries/{query_id}/run")
        )

    # ----- settings -----------------------------------------------------------------------------
    def email_notifications(self) -> dict[str, Any]:
        """The e-mail digest settings."""
        return dict(self._http.request("GET", f"{P}/settings/email-notifications"))

    def set_email_notifications(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the e-mail digest settings."""
        path = f"{P}/settings/email-notifications"
        return dict(self._http.request("PUT", path, json=dict(settings)))

    def s3_retention(self) -> dict[str, Any]:
        """Where raw events are archived (the secret masked)."""
        return dict(self._http.request("GET", f"{P}/settings/s3-retention"))

    def set_s3_retention(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Archive raw events to S3 (`awsBucketName`, `awsAccessKeyId`, `awsSecretAccessKey`, ...)."""
        return dict(self._http.request("PUT", f"{P}/settings/s3-retention", json=dict(settings)))

    def delete_s3_retention(self) -> None:
        """Stop archiving."""
        self._http.request("DELETE", f"{P}/settings/s3-retention")


def _given(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
