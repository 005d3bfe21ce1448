"""Request-side helpers shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict

from openlytics.core.pagination import MAX_PER_PAGE


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Paging(BaseModel):
    """`?page=&per_page=`."""

    page: int
    per_page: int


def paging(
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> Paging:
    """Parse pagination parameters."""
    return Paging(page=page, per_page=per_page)


PageParams = Annotated[Paging, Depends(paging)]
