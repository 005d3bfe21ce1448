"""`create_app(settings)`: the FastAPI application with the native API and the dialect mounts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from openlytics import __version__
from openlytics.api.activity_middleware import ActivityMiddleware
from openlytics.api.auth import authenticate
from openlytics.api.errors import install_error_handlers, path_responder
from openlytics.api.rate_limits import limit_rate
from openlytics.api.request_limits import RequestSizeLimit
from openlytics.api.routers import (
    account,
    alerts,
    assets,
    dashboards,
    datasets,
    groups,
    identity,
    oauth_clients,
    pipeline,
    queries,
    runs,
    schedules,
    scripts,
    shares,
    sources,
    teams,
    trusted_auth,
    users,
    visualizations,
)
from openlytics.api.security_headers import SecurityHeaders
from openlytics.app import Openlytics
from openlytics.dialects import DIALECT_PREFIXES, alooma, clicdata, serenytics, thoughtspot, tonalytica
from openlytics.dialects.contributions import install_dialects
from openlytics.dialects.unimplemented import unimplemented_router
from openlytics.log_redaction import install_access_log_redaction
from openlytics.runtime.rate_limiter import RateLimiter
from openlytics.settings import Settings
from openlytics.web import public_pages

API_PREFIX = "/api/v1"


class CollapseSlashes:
    """Collapse repeated `/` in request paths (clients joining base URLs that end in `/`)."""

    _slashes = re.compile(r"/{2,}")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = self._slashes.sub("/", scope["path"])
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    openlytics: Openlytics | None = None,
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the ASGI app; the services start in its lifespan."""
    core = openlytics or Openlytics(settings or Settings())
    install_dialects(core)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        install_access_log_redaction()  # here: uvicorn has configured its loggers, in every process
        core.start()
        if on_started is not None:
            on_started()
        _app.state.ready = True
        try:
            yield
        finally:
            _app.state.ready = False
            core.stop()

    # The docs page serves Swagger UI's assets itself: it works on machines without internet.
    app = FastAPIOffline(
        title="openlytics",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        static_url=f"{API_PREFIX}/docs-assets",
        # Every route, every dialect: requests per credential (api/rate_limits.py).
        dependencies=[Depends(limit_rate)],
    )
    app.state.openlytics = core
    app.state.rate_limiter = RateLimiter.from_settings(core.settings)
    app.state.ready = False
    respond = path_responder(
        {
            tonalytica.CAPABILITIES.prefix: tonalytica.format_error,
            serenytics.CAPABILITIES.prefix: serenytics.format_error,
            clicdata.CAPABILITIES.prefix: clicdata.format_error,
            alooma.CAPABILITIES.prefix: alooma.format_error,
            thoughtspot.CAPABILITIES.prefix: thoughtspot.format_error,
        }
    )
    install_error_handlers(app, respond)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Any:
        """200 once the server is ready, 503 before."""
        from fastapi.responses import JSONResponse

        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return {"status": "ok", "version": __version__}

    app.include_router(identity.public_router, prefix=API_PREFIX)
    app.include_router(oauth_clients.public_router, prefix=API_PREFIX)
    for module in (
        identity,
        users,
        oauth_clients,
        trusted_auth,
        teams,
        groups,
        shares,
        sources,
        queries,
        runs,
        schedules,
        scripts,
        datasets,
        dashboards,
        visualizations,
        alerts,
        account,
        pipeline,
        assets,
    ):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=[Depends(authenticate)])
    app.include_router(tonalytica.build_router(), prefix=tonalytica.CAPABILITIES.prefix)
    app.include_router(serenytics.build_router(), prefix=serenytics.CAPABILITIES.prefix)
    app.include_router(clicdata.build_router(), prefix=clicdata.CAPABILITIES.prefix)
    app.include_router(alooma.build_router(), prefix=alooma.CAPABILITIES.prefix)
    app.include_router(thoughtspot.build_router(), prefix=thoughtspot.CAPABILITIES.prefix)
    app.include_router(public_pages.router)
    for vendor, prefix in DIALECT_PREFIXES.items():
        app.include_router(unimplemented_router(vendor), prefix=prefix)
    app.add_middleware(ActivityMiddleware, activity=core.activity)
    app.add_middleware(
        RequestSizeLimit,
        max_json_bytes=core.settings.max_json_request_bytes,
        max_upload_bytes=core.settings.upload_max_bytes,
        respond=respond,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(CollapseSlashes)
    return app
