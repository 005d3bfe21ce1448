"""Public dashboard pages: what a share link opens, as HTML, PNG or PDF; read-only, no login."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from openlytics.app import Openlytics
from openlytics.render.image import vega_embed_bundle
from openlytics.web.dashboard_page import dashboard_html

router = APIRouter(prefix="/public", include_in_schema=False)

BUNDLE_PATH = "/public/assets/vega-bundle.js"
# The page runs only our bundle and its own inline scripts; it can talk to nobody.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'none'; frame-ancestors 'self'"
)
HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _app(request: Request) -> Openlytics:
    app: Openlytics = request.app.state.openlytics
    return app


@router.get("/dashboards/{token}.png")
async def dashboard_image(token: str, request: Request, thumbnail: bool = False) -> Response:
    """The shared dashboard drawn as a PNG (a thumbnail when asked)."""
    image = await run_in_threadpool(_app(request).renders.public_png, token, thumbnail=thumbnail)
    return Response(image, media_type="image/png", headers=HEADERS)


@router.get("/dashboards/{token}.pdf")
async def dashboard_document(token: str, request: Request) -> Response:
    """The shared dashboard as a PDF."""
    document = await run_in_threadpool(_app(request).renders.public_pdf, token)
    return Response(document, media_type="application/pdf", headers=HEADERS)


@router.get("/dashboards/{token}")
async def dashboard_page(token: str, request: Request) -> HTMLResponse:
    """The shared dashboard as a web page: charts drawn in the browser by vega-embed."""
    view = await run_in_threadpool(_app(request).dashboard_views.public_view, token)
    return HTMLResponse(
        dashboard_html(view, bundle_url=f"{BUNDLE_PATH}?v={_bundle_version()}"), headers=HEADERS
    )


@router.get("/assets/vega-bundle.js")
async def bundle() -> Response:
    """Vega, Vega-Lite and vega-embed, served from the package (no CDN)."""
    code = await run_in_threadpool(vega_embed_bundle)
    return Response(
        code,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def _bundle_version() -> str:
    from openlytics import __version__

    return hashlib.sha256(__version__.encode()).hexdigest()[:8]
