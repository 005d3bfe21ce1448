"""All routes of the dialect: the API under `/api`, signed upload URLs under `/_upload`."""

from __future__ import annotations

from fastapi import APIRouter

from openlytics.dialects.serenytics.routes import (
    account,
    data_sources,
    email,
    exports,
    formatted_data,
    scripts,
    tasks,
    uploads,
    web_apps,
)


def build_router() -> APIRouter:
    """The dialect's router; mount it at the dialect's prefix."""
    api = APIRouter(prefix="/api")
    # Uploads first: `data_source/sign_s3/` must not be read as a data source uuid.
    for module in (account, uploads, exports, data_sources, formatted_data, scripts, web_apps, email, tasks):
        api.include_router(module.router)
    router = APIRouter(include_in_schema=False)
    router.include_router(api)
    router.include_router(uploads.signed_router)
    router.include_router(exports.signed_router)
    return router
