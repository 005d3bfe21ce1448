"""A router that answers 501 for every path of a dialect that is not implemented yet."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


def unimplemented_router(vendor: str) -> APIRouter:
    """Catch-all routes answering 501 with a JSON explanation, logged like moto does."""
    router = APIRouter(include_in_schema=False)

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def not_implemented(path: str, request: Request) -> JSONResponse:
        log.warning("%s dialect: %s /%s is not implemented", vendor, request.method, path)
        return JSONResponse(
            {
                "error": {
                    "code": "not_implemented",
                    "message": f"the {vendor} dialect does not implement {request.method} /{path} yet",
                }
            },
            status_code=501,
        )

    return router
