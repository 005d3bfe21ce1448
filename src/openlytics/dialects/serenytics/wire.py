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
