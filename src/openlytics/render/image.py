"""Vega-Lite specs drawn to PNG, SVG and PDF by vl-convert, and the JavaScript bundle for browsers.

vl-convert runs Vega in an embedded JavaScript engine: no browser and no network. Our specs carry
their data inline, so no base URL is allowed for loading any.
"""

from __future__ import annotations

import threading
from typing import Any

import vl_convert

from openlytics.render.dashboard import dashboard_spec
from openlytics.render.model import DashboardView

# vl-convert ships several Vega-Lite versions, the newest by default; our specs are written for v5.
VEGA_LITE_VERSION = "5.21"
DASHBOARD_WIDTH = 1200
THUMBNAIL_WIDTH = 400

_bundle: str | None = None
_bundle_lock = threading.Lock()


def render_png(spec: dict[str, Any], *, scale: float = 1.0) -> bytes:
    """The spec drawn as a PNG image, `scale` times its size in pixels."""
    return bytes(
        vl_convert.vegalite_to_png(spec, vl_version=VEGA_LITE_VERSION, scale=scale, allowed_base_urls=[])
    )


def render_svg(spec: dict[str, Any]) -> str:
    """The spec drawn as an SVG document."""
    return str(vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION, allowed_base_urls=[]))


def render_pdf(spec: dict[str, Any]) -> bytes:
    """The spec drawn as a one-page PDF document."""
    return bytes(vl_convert.vegalite_to_pdf(spec, vl_version=VEGA_LITE_VERSION, allowed_base_urls=[]))


def dashboard_png(view: DashboardView, *, thumbnail: bool = False) -> bytes:
    """The dashboard as a PNG, 1200 pixels wide, or about 400 as a thumbnail."""
    scale = THUMBNAIL_WIDTH / DASHBOARD_WIDTH if thumbnail else 1.0
    return render_png(dashboard_spec(view, width=DASHBOARD_WIDTH), scale=scale)


def dashboard_pdf(view: DashboardView) -> bytes:
    """The dashboard as a one-page PDF."""
    return render_pdf(dashboard_spec(view, width=DASHBOARD_WIDTH))


def vega_embed_bundle() -> str:
    """The JavaScript of Vega, Vega-Lite and vega-embed (as `window.vegaEmbed`), built once per process."""
    global _bundle
    with _bundle_lock:
        if _bundle is None:
            # The default snippet assigns vegaEmbed, vegaLite and vega to `window`.
            # Its type stub omits that the snippet may be None (for the default one).
            bundle = vl_convert.javascript_bundle(None, vl_version=VEGA_LITE_VERSION)  # type: ignore[arg-type]
            _bundle = str(bundle)
        return _bundle
