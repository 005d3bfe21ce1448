"""All routes of the dialect, under `/api` of its prefix."""

from __future__ import annotations

from fastapi import APIRouter

from openlytics.dialects.serenytics.routes import account, web_apps


def build_router() -> APIRouter:
    """The dialect's router; mount it at the dialect's prefix."""
    router = APIRouter(prefix="/api", include_in_schema=False)
    for module in (account, web_apps):
        router.include_router(module.router)
    return router
