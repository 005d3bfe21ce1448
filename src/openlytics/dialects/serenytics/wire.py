"""Core objects <-> the shapes the serenytics client reads (configs compared with `==` by its tests)."""

from __future__ import annotations

from typing import Any

from openlytics.store.models import Dashboard

# Dashboard options that hold what the web app document says; vendor layout is kept verbatim.
CONFIG_KEY = "config"
FOLDER_KEY = "folder_name"


def web_app(d: Dashboard) -> dict[str, Any]:
    """A web app: our dashboard, with the document the client last saved in `jsonContent`."""
    options = d.options or {}
    return {
        "uuid": str(d.uuid),
        "name": d.name,
        "folder_name": options.get(FOLDER_KEY) or "",
        "jsonContent": options.get(CONFIG_KEY) or {},
        "is_draft": d.is_draft,
        "slug": d.slug,
    }


def web_app_options(current: dict[str, Any], json_content: dict[str, Any], folder: Any) -> dict[str, Any]:
    """Dashboard options after a web app save: custom CSS and header are applied to our pages."""
    options = dict(current)
    options[CONFIG_KEY] = json_content
    if isinstance(folder, str):
        options[FOLDER_KEY] = folder
    css = json_content.get("cssContent")
    options["custom_css"] = css if isinstance(css, str) else ""
    header = json_content.get("htmlHeader") if json_content.get("headerMode") == "custom_html" else ""
    options["custom_header_html"] = header if isinstance(header, str) else ""
    return options


# Our logical types -> the four Serenytics column types.
COLUMN_TYPES = {
    "int8": "int",
    "int16": "int",
    "int32": "int",
    "int64": "int",
    "integer": "int",
    "float32": "float",
    "float64": "float",
    "float": "float",
    "decimal": "float",
    "date": "datetime",
    "datetime": "datetime",
}
# Serenytics `force_types` names -> ours.
FORCED_TYPES = {"int": "int64", "float": "float64", "str": "string", "datetime": "datetime"}
DATASET_CONFIG_KEY = "config"
ORIGINAL_FILE_KEY = "original_file_name"


def column_type(logical: str) -> str:
    """int, float, str or datetime."""
    return COLUMN_TYPES.get(logical, "str")


def column_titles(columns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """`columns_titles`: exactly name and type (the client's tests compare with ==)."""
    return [{"name": c["name"], "type": column_type(c["type"])} for c in columns]


def data_source(d: Any, *, token: str | None) -> dict[str, Any]:
    """A Storage data source (our dataset); the same document from POST, GET and lists."""
    options = d.options or {}
    return {
        "uuid": str(d.uuid),
        "name": d.name,
        "type": "Storage",
        "token": token,
        "jsonContent": options.get(DATASET_CONFIG_KEY) or {},
        "originalFileName": options.get(ORIGINAL_FILE_KEY),
    }


def data_source_options(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Dataset options after a full-document PUT (whatever the client sends is kept)."""
    options = dict(current)
    content = body.get("jsonContent")
    options[DATASET_CONFIG_KEY] = content if isinstance(content, dict) else {}
    if "originalFileName" in body:
        options[ORIGINAL_FILE_KEY] = body["originalFileName"]
    return options


SCRIPT_KIND = "GENERIC_PYTHON"
RUN_STATUS = {"success": "SUCCESS", "failure": "FAILURE", "timeout": "FAILURE", "running": "RUNNING"}


def script(s: Any) -> dict[str, Any]:
    """A script config."""
    options = s.options or {}
    return {
        "uuid": str(s.uuid),
        "name": s.name,
        "code": s.code,
        "kind": SCRIPT_KIND,
        "schedule_infos": options.get("schedule_infos", ""),
    }


def script_run(r: Any) -> dict[str, Any]:
    """A run log line, as `script.run(async_=False)` reads it."""
    return {
        "started_at": r.started_at.isoformat() if r.started_at else None,
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "status": RUN_STATUS.get(r.status, r.status.upper()),
        "stdout": r.stdout,
        "stderr": r.stderr if not r.error else f"{r.stderr}\n{r.error}".strip(),
        "return_code": r.return_code,
    }
