"""Visualizations and dashboards as Vega-Lite specs, and those specs as PNG, SVG and PDF.

A leaf package: it knows only the plain views in `model`, never the server's objects — except
`service.py`, which builds those views from the core's services and runs a render here or as a
background task on a worker (it is not imported here, so the drawing code stays server-free).
"""

from openlytics.render.dashboard import dashboard_spec
from openlytics.render.document import DocumentOptions, dashboard_document
from openlytics.render.errors import VisualizationOptionsError
from openlytics.render.image import (
    dashboard_pdf,
    dashboard_png,
    render_pdf,
    render_png,
    render_svg,
    vega_embed_bundle,
)
from openlytics.render.model import Column, DashboardView, Position, VisualizationView, WidgetView
from openlytics.render.options import check_options
from openlytics.render.vega import visualization_spec

__all__ = [
    "Column",
    "DashboardView",
    "DocumentOptions",
    "Position",
    "VisualizationOptionsError",
    "VisualizationView",
    "WidgetView",
    "check_options",
    "dashboard_document",
    "dashboard_pdf",
    "dashboard_png",
    "dashboard_spec",
    "render_pdf",
    "render_png",
    "render_svg",
    "vega_embed_bundle",
    "visualization_spec",
]
