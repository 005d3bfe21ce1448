"""Liveboard PDF export: V1 `export/pinboard/pdf` and V2 `report/liveboard`.

The liveboard is found among those the caller sees (404 in the dialect's shape otherwise; the V1
client never checks the status, see Q7) and drawn by the dashboard renderer (`app.renders`: in
this process, or on a worker consuming the renders queue).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal
from openlytics.dialects.thoughtspot import wire_metadata as meta
from openlytics.dialects.thoughtspot.auth import ObjectReader, app_of
from openlytics.dialects.thoughtspot.capabilities import V1, V2
from openlytics.dialects.thoughtspot.forms import flag
from openlytics.dialects.thoughtspot.routes.catalog import Catalog
from openlytics.dialects.thoughtspot.routes.common import Body
from openlytics.render.document import DocumentOptions

router = APIRouter()
PDF = "application/pdf"


@router.post(f"{V1}/export/pinboard/pdf")
def export_pinboard_pdf(request: Request, caller: ObjectReader) -> Response:
    """The liveboard `id` as PDF bytes, laid out by the query parameters."""
    params = request.query_params
    options = DocumentOptions(
        landscape=_orientation(params.get("orientation"), "orientation"),
        cover_page=flag(params.get("include_cover_page"), "include_cover_page", True),
        one_widget_per_page=_layout(params.get("layout_type")),
        page_numbers=flag(params.get("include_page_number"), "include_page_number", False),
        footer_text=params.get("footer_text") or "",
        logo=flag(params.get("include_logo"), "include_logo", True),
        filter_page=flag(params.get("include_filter_page"), "include_filter_page", True),
        truncate_tables=flag(params.get("truncate_tables"), "truncate_tables", False),
    )
    chosen = _json_list(params.get("visualization_ids"), "visualization_ids")
    document = _document(request, caller, params.get("id"), options, chosen, "visualization_ids")
    return Response(document, media_type=PDF)


@router.post(f"{V2}/report/liveboard")
def report_liveboard(request: Request, caller: ObjectReader, body: Body) -> Response:
    """V2: the liveboard `metadata_identifier` as a PDF (`file_format` PDF only), with `pdf_options`."""
    file_format = str(body.get("file_format") or "PDF").upper()
    if file_format != "PDF":
        raise InvalidInputError("file_format", f"only PDF is supported, not {file_format!r}")
    chosen = _identifiers(body.get("visualization_identifiers"), "visualization_identifiers")
    pdf = body.get("pdf_options") or {}
    if not isinstance(pdf, dict):
        raise InvalidInputError("pdf_options", "an object")
    options = DocumentOptions(
        landscape=_orientation(pdf.get("page_orientation"), "pdf_options.page_orientation"),
        cover_page=_boolean(pdf, "include_cover_page", True),
        page_numbers=_boolean(pdf, "include_page_number", True),
        footer_text=str(pdf.get("page_footer_text") or ""),
        logo=_boolean(pdf, "include_custom_logo", True),
        filter_page=_boolean(pdf, "include_filter_page", True),
        # `truncate_table` in the API reference; older SDKs spell it `truncate_tables`.
        truncate_tables=_boolean(pdf, "truncate_table", _boolean(pdf, "truncate_tables", False)),
    )
    document = _document(
        request, caller, body.get("metadata_identifier"), options, chosen, "visualization_identifiers"
    )
    return Response(document, media_type=PDF)


def _document(
    request: Request,
    caller: Principal,
    guid: Any,
    options: DocumentOptions,
    chosen: list[str] | None,
    field: str,
) -> bytes:
    """The liveboard drawn with `options`, only the `chosen` visualizations when some are named."""
    if not isinstance(guid, str) or not guid.strip():
        raise InvalidInputError("id", "required: a liveboard's GUID")
    app = app_of(request)
    item = Catalog(app, caller).find(meta.LIVEBOARD, [guid])[0]
    if chosen:
        # The keys the drawing gives its visualizations (render.model.WidgetView.key).
        detail = app.dashboards.get(caller, item.id)
        on_board = {str(p.visualization.uuid) for p in detail.widgets if p.visualization and p.query}
        for identifier in chosen:
            if identifier not in on_board:
                raise InvalidInputError(field, f"{identifier!r} is not a visualization of this liveboard")
        options = replace(options, visualizations=frozenset(chosen))
    return app.renders.document(caller, item.id, options)


def _identifiers(value: Any, field: str) -> list[str] | None:
    """A list of GUIDs, or None when absent or empty."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidInputError(field, "a list of visualization GUIDs")
    return [v.strip() for v in value]


def _json_list(value: str | None, field: str) -> list[str] | None:
    """V1 sends lists as JSON text (`["guid", ...]`)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise InvalidInputError(field, "a JSON array of visualization GUIDs") from None
    return _identifiers(parsed, field)


def _orientation(value: str | None, field: str) -> bool:
    """True for LANDSCAPE (the default), False for PORTRAIT."""
    name = (value or "LANDSCAPE").strip().upper()
    if name not in ("LANDSCAPE", "PORTRAIT"):
        raise InvalidInputError(field, f"LANDSCAPE or PORTRAIT, not {value!r}")
    return name == "LANDSCAPE"


def _layout(value: str | None) -> bool:
    """True for one visualization a page (VISUALIZATION), False for the whole liveboard (PINBOARD)."""
    name = (value or "PINBOARD").strip().upper()
    if name not in ("PINBOARD", "VISUALIZATION"):
        raise InvalidInputError("layout_type", f"PINBOARD or VISUALIZATION, not {value!r}")
    return name == "VISUALIZATION"


def _boolean(options: dict[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInputError(f"pdf_options.{name}", "true or false")
    return value
