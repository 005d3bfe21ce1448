"""The dialect's background tasks: e-mails (queue `emails`) and file reloads and updates of storage
data sources (queue `loads`). Their routes submit JSON arguments; the handlers run wherever the
core runs tasks (this process's pool, or an `openlytics worker`), so they read everything else
— the data set's options, the upload's bytes — from the store and the shared data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openlytics.app import Openlytics
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.emails import OutgoingEmail
from openlytics.core.errors import InvalidInputError
from openlytics.core.notifications import Attachment
from openlytics.core.principal import Principal
from openlytics.dialects.serenytics import wire
from openlytics.render.image import dashboard_pdf
from openlytics.runtime.conversions import pickle_to_parquet
from openlytics.store.models import Dataset

EMAIL, DATASET_RELOAD, DATASET_UPDATE = "email", "dataset_reload", "dataset_update"
EMAILS_QUEUE, LOADS_QUEUE = "emails", "loads"
PICKLE_SUFFIX = ".pd025_pickle"


def install(core: Openlytics) -> None:
    """Register the dialect's task handlers on `core` (idempotent)."""
    core.tasks.register(EMAIL, lambda p, a: send_email(core, p, a), queue=EMAILS_QUEUE)
    core.tasks.register(DATASET_RELOAD, lambda p, a: reload_from_file(core, p, a), queue=LOADS_QUEUE)
    core.tasks.register(DATASET_UPDATE, lambda p, a: update_from_file(core, p, a), queue=LOADS_QUEUE)


def send_email(app: Openlytics, caller: Principal, arguments: dict[str, Any]) -> dict[str, Any]:
    """Render and attach what the e-mail asks for, send it (quota checked again) and record it."""
    attachments: list[Attachment] = []
    if arguments.get("web_app_uuid"):
        view = app.dashboard_views.view(caller, str(arguments["web_app_uuid"]))
        name = arguments.get("pdf_file_name") or f"{view.name}.pdf"
        if not isinstance(name, str):
            raise InvalidInputError("pdf_file_name", "a file name")
        attachments.append(Attachment(_safe_name(name, ".pdf"), dashboard_pdf(view), "application/pdf"))
    if arguments.get("file_to_attach_uuid"):
        upload = app.uploads.get(caller, str(arguments["file_to_attach_uuid"]))
        name = os.path.basename(str(arguments.get("file_to_attach_name") or upload.object_name))
        content = app.uploads.path_of(upload).read_bytes()
        attachments.append(Attachment(_safe_name(name, ""), content, "application/octet-stream"))
    email = OutgoingEmail(
        str(arguments["subject"]), list(arguments["recipients"]), str(arguments["html"]), tuple(attachments)
    )
    sent = app.emails.send(caller, email)
    return {"email_id": str(sent.uuid), "recipients": sent.recipients}


def reload_from_file(app: Openlytics, caller: Principal, arguments: dict[str, Any]) -> dict[str, Any]:
    """Replace a data set's data and schema with its uploaded file ({dataset_id, upload_path})."""
    dataset = app.datasets.get(caller, int(arguments["dataset_id"]))
    return _with_file(
        app,
        dataset,
        arguments,
        lambda source: app.datasets.reload(caller, dataset.id, source, force_types=_force_types(dataset)),
    )


def update_from_file(app: Openlytics, caller: Principal, arguments: dict[str, Any]) -> dict[str, Any]:
    """Upsert a data set's uploaded file by `primary_key` ({dataset_id, upload_path, primary_key})."""
    dataset = app.datasets.get(caller, int(arguments["dataset_id"]))
    key = str(arguments["primary_key"])
    return _with_file(
        app, dataset, arguments, lambda source: app.datasets.update_from(caller, dataset.id, source, [key])
    )


def _with_file(
    app: Openlytics, dataset: Dataset, arguments: dict[str, Any], load: Callable[[LoadSource], Any]
) -> dict[str, Any]:
    path = _upload_path(app, str(arguments["upload_path"]))
    source, cleanup = _file_source(app, dataset, path)
    try:
        result = load(source)
    finally:
        cleanup()
    return {"nb_rows": result.row_count}


def _upload_path(app: Openlytics, relative: str) -> Path:
    """The upload's file under the uploads directory (uploads keep their own retention)."""
    root = app.uploads.directory.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise InvalidInputError("file", "not an upload")
    return path


def _file_source(app: Openlytics, dataset: Dataset, path: Path) -> tuple[LoadSource, Callable[[], None]]:
    """The uploaded file as a load source, by the suffix of the name the client gave it."""
    original = str((dataset.options or {}).get(wire.ORIGINAL_FILE_KEY) or "")
    config = (dataset.options or {}).get(wire.DATASET_CONFIG_KEY) or {}
    if original.endswith(PICKLE_SUFFIX):
        # Never unpickled here: converted to Parquet inside the sandbox first.
        workdir = Path(tempfile.mkdtemp(dir=app.uploads.directory))
        parquet = workdir / "data.parquet"

        def cleanup() -> None:
            shutil.rmtree(workdir, ignore_errors=True)

        try:
            pickle_to_parquet(path, parquet, sandbox=app.sandbox)
        except BaseException:
            cleanup()
            raise
        return LoadSource.from_parquet(parquet), cleanup
    if original.endswith(".csv.gz") or original.endswith(".csv"):
        separator = config.get("separator") or ","
        return LoadSource.from_csv(path, separator=separator, gzip=original.endswith(".gz")), lambda: None
    raise InvalidInputError("originalFileName", "a .csv, .csv.gz or .pd025_pickle file")


def _force_types(dataset: Dataset) -> dict[str, str] | None:
    config = (dataset.options or {}).get(wire.DATASET_CONFIG_KEY) or {}
    raw = config.get("advanced_options")
    if not raw:
        return None
    try:
        forced = (json.loads(raw) if isinstance(raw, str) else raw).get("force_types")
    except (ValueError, AttributeError):
        raise InvalidInputError("advanced_options", "a JSON object with force_types") from None
    if not forced:
        return None
    return {column: wire.FORCED_TYPES.get(kind, kind) for column, kind in forced.items()}


def _safe_name(name: str, suffix: str) -> str:
    cleaned = "".join(ch for ch in os.path.basename(name) if ch.isprintable() and ch not in '\\/"') or "file"
    return cleaned if cleaned.endswith(suffix) else cleaned + suffix
