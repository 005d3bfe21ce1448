"""All routes of the dialect; every path is relative to the base URL the wrapper is given."""

from __future__ import annotations

from fastapi import APIRouter

from openlytics.dialects.clicdata.routes import (
    account,
    dashboards,
    data,
    oauth,
    schedules,
    teams,
    unknown,
    users,
)


def build_router() -> APIRouter:
    """The dialect's router; mount it at the dialect's prefix."""
    router = APIRouter(include_in_schema=False)
    # Account before dashboards: `account/activity/users` is not a dashboard's `account/{id}/...`.
    # `unknown` last: it answers 501 for every path the others do not serve.
    for module in (oauth, data, account, dashboards, schedules, teams, users, unknown):
        router.include_router(module.router)
    return router
