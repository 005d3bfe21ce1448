"""Dashboards, their thumbnails and snapshots (PNG rendered from live data, as base64 text)."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Principal
from openlytics.dialects.clicdata import wire
from openlytics.dialects.clicdata.auth import Caller, app_of
from openlytics.dialects.clicdata.routes.common import flag

router = APIRouter()
FORMATS = ("base64", "image")

# Route functions are sync: FastAPI runs them (and the CPU-heavy rendering) in its threadpool.


@router.get("/dashboard")
def get_dashboard(
    request: Request, caller: Caller, includethumbnail: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """`Dashboard.get_dashboard(thumbnail, name)`: `{"dashboards": [...]}`."""
    app = app_of(request)
    with_thumbnails = bool(flag(includethumbnail, "includethumbnail"))
    needle = (name or "").strip().lower()
    found = all_pages(
        lambda page, size: app.dashboards.list(caller, search=needle or None, page=page, per_page=size)
    )
    return {
        "dashboards": [
            wire.dashboard(d, _png(app, caller, d.id, thumbnail=True) if with_thumbnails else None)
            for d in found
            if needle in d.name.lower()
        ]
    }


@router.get("/dashboard/{rec_id}/thumbnail")
@router.get("/account/{rec_id}/thumbnail")
def get_dashboard_thumbnail(
    rec_id: int, request: Request, caller: Caller, format: str | None = None
) -> Response:
    """`Dashboard.get_dashboard_thumbnail(rec_id)`: a small PNG, base64 text unless an image is asked."""
    return _image(request, caller, rec_id, format, thumbnail=True)


@router.get("/dashboard/{rec_id}/snapshot")
@router.get("/account/{rec_id}/snapshot")
def get_dashboard_snapshot(
    rec_id: int, request: Request, caller: Caller, format: str | None = None
) -> Response:
    """`Dashboard.get_dashboard_snapshot(rec_id)`: the full-size PNG, base64 text unless an image is asked."""
    return _image(request, caller, rec_id, format, thumbnail=False)


def _image(
    request: Request, caller: Principal, rec_id: int, format: str | None, *, thumbnail: bool
) -> Response:
    choice = (format or "").strip().lower()
    if choice and choice not in FORMATS:
        raise InvalidInputError("format", "base64 or image")
    png = _png(app_of(request), caller, rec_id, thumbnail=thumbnail)
    if choice == "image" or (not choice and "image/png" in request.headers.get("accept", "")):
        return Response(png, media_type="image/png")
    return PlainTextResponse(base64.b64encode(png).decode())


def _png(app: Openlytics, caller: Principal, dashboard_id: int, *, thumbnail: bool) -> bytes:
    return app.renders.png(caller, dashboard_id, thumbnail=thumbnail)
