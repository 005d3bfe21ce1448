"""Page arithmetic shared by every list call."""

from __future__ import annotations

from collections.abc import Callable
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
    offset = (page - 1) * per_page
    # A page past the end is empty; asking the database would overflow its integers for huge pages.
    items = list(s.scalars(stmt.offset(offset).limit(per_page))) if offset < total else []
    return Page(items, page, per_page, total)


def all_pages(fetch: Callable[[int, int], Page[T]], *, per_page: int = MAX_PER_PAGE) -> list[T]:
    """Every item of a paged list: `fetch(page, per_page)` called until the total is reached."""
    items: list[T] = []
    page = 1
    while True:
        batch = fetch(page, per_page)
        items.extend(batch.items)
        if page * batch.per_page >= batch.total or not batch.items:
            return items
        page += 1
