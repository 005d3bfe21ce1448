"""All routes of the dialect; V1 paths start with `callosum/v1/tspublic/v1/`, V2 with `api/rest/2.0/`."""

from __future__ import annotations

from fastapi import APIRouter

from openlytics.dialects.thoughtspot.routes import (
    auth_v2,
    data,
    export,
    groups,
    metadata,
    security,
    security_v2,
    session,
    tml,
    unknown,
    users,
    users_v2,
)


def build_router() -> APIRouter:
    """The dialect's router; mount it at the dialect's prefix."""
    router = APIRouter(include_in_schema=False)
    # `unknown` last: it answers 501 for every path the others do not serve.
    for module in (
        session,
        users,
        groups,
        metadata,
        data,
        export,
        security,
        tml,
        auth_v2,
        users_v2,
        security_v2,
        unknown,
    ):
        router.include_router(module.router)
    return router
