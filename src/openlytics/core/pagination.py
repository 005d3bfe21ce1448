"""Page arithmetic shared by every list call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

MAX_PER_PAGE = 250


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list."""

    items: list[T]
    page: int
    per_page: int
    total: int


def paginate(s: Session, stmt: Select[Any], page: int, per_page: int) -> Page[Any]:
    """Run `stmt` for one page and count the whole."""
    page = max(page, 1)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(s.scalars(stmt.offset((page - 1) * per_page).limit(per_page)))
    return Page(items, page, per_page, total)
