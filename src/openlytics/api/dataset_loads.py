"""Asynchronous dataset file loads of the native API (`?run_async=true`): the `dataset_load` task.

The route saves the request body in the tasks' shared directory (`BackgroundTaskService.files_dir`)
and submits its name with the load's parameters; the handler — on this process's pool or an
`openlytics worker` (queue `loads`) — loads it and deletes it, whatever the outcome. No FastAPI
here: workers import this module to register the handler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from openlytics.api import serializers_datasets as dser
from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal

DATASET_LOAD = "dataset_load"
LOADS_QUEUE = "loads"
RELOAD, UPDATE = "reload", "update"


def install(core: Openlytics) -> None:
    """Register the `dataset_load` handler on `core` (idempotent)."""
    core.tasks.register(DATASET_LOAD, lambda p, a: load_file(core, p, a), queue=LOADS_QUEUE)


def arguments(
    dataset_id: int,
    file: Path,
    kind: str,
    separator: str,
    *,
    force_types: dict[str, Any] | None = None,
    key: list[str] | None = None,
) -> dict[str, Any]:
    """The task's arguments: a reload of `file` (in the tasks' directory), or an update by `key`."""
    return {
        "dataset_id": dataset_id,
        "file": file.name,
        "kind": kind,
        "separator": separator,
        "method": UPDATE if key is not None else RELOAD,
        "force_types": force_types,
        "key": key,
    }


def load_file(app: Openlytics, principal: Principal, arguments: dict[str, Any]) -> dict[str, Any]:
    """Reload the dataset from the file, or update it by key; the file is deleted afterwards."""
    path = app.tasks.files_dir / Path(str(arguments["file"])).name
    try:
        source = file_source(path, str(arguments["kind"]), str(arguments["separator"]))
        dataset_id = int(arguments["dataset_id"])
        if arguments.get("method") == UPDATE:
            result = app.datasets.update_from(principal, dataset_id, source, list(arguments["key"]))
        else:
            forced = arguments.get("force_types")
            result = app.datasets.reload(principal, dataset_id, source, force_types=forced)
        return dser.write_result(result)
    finally:
        path.unlink(missing_ok=True)


def file_source(path: Path, kind: str, separator: str) -> LoadSource:
    """A received file as a load source: CSV (gzipped or not), Parquet or an Arrow IPC stream."""
    if kind in ("csv", "csv.gz"):
        return LoadSource.from_csv(path, separator=separator, gzip=kind == "csv.gz")
    if kind == "parquet":
        return LoadSource.from_parquet(path)
    try:
        reader = ipc.open_stream(pa.memory_map(str(path)))
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError("body", f"not an Arrow IPC stream: {exc}") from None
    return LoadSource.from_arrow(reader)
