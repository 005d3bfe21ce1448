"""All routes of the dialect, under `/api` of its prefix."""

from __future__ import annotations

from fastapi import APIRouter

from openlytics.dialects.tonalytica.routes import admin, alerts, dashboards, queries, results


def build_router() -> APIRouter:
    """The dialect's router; mount it at the dialect's prefix."""
    router = APIRouter(prefix="/api", include_in_schema=False)
    # Results first: `queries/<id>/results.json` must not be read as a query id.
    for module in (admin, results, queries, dashboards, alerts):
        router.include_router(module.router)
    return router
