"""Favorites: a user's stars on queries and dashboards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import Dashboard, Favorite, Query

OBJECT_TYPES: dict[str, type[Query] | type[Dashboard]] = {"query": Query, "dashboard": Dashboard}


def favorite_ids(principal: Principal, object_type: str) -> Select[Any]:
    """A subquery of the ids the caller starred (empty for callers that are not users)."""
    return select(Favorite.object_id).where(
        Favorite.user_id == (principal.user_id or -1),
        Favorite.org_id == principal.org_id,
        Favorite.object_type == object_type,
    )


class FavoriteService:
    """Star and unstar objects; each user has their own favorites."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, principal: Principal, object_type: str, object_id: int) -> None:
        """Star an object (starring twice is harmless)."""
        user_id = self._user(principal)
        with self.db.session() as s:
            self._check_object(s, principal, object_type, object_id)
            exists = s.scalar(
                select(Favorite.id).where(
                    Favorite.user_id == user_id,
                    Favorite.object_type == object_type,
                    Favorite.object_id == object_id,
                )
            )
            if exists is None:
                s.add(
                    Favorite(
                        org_id=principal.org_id,
                        user_id=user_id,
                        object_type=object_type,
                        object_id=object_id,
                    )
                )
                try:
                    s.flush()
                except IntegrityError:  # starred concurrently: the star exists, which is the goal
                    s.rollback()

    def remove(self, principal: Principal, object_type: str, object_id: int) -> None:
        """Unstar an object."""
        user_id = self._user(principal)
        with self.db.session() as s:
            self._check_object(s, principal, object_type, object_id)
            s.execute(
                delete(Favorite).where(
                    Favorite.user_id == user_id,
                    Favorite.object_type == object_type,
                    Favorite.object_id == object_id,
                )
            )

    def starred(self, principal: Principal, object_type: str, object_ids: list[int]) -> set[int]:
        """Which of `object_ids` the caller starred."""
        if principal.user_id is None or not object_ids:
            return set()
        with self.db.session() as s:
            stmt = favorite_ids(principal, object_type).where(Favorite.object_id.in_(object_ids))
            return set(s.scalars(stmt))

    def _user(self, principal: Principal) -> int:
        principal.require(Action.READ, "favorites")
        if principal.user_id is None or principal.is_query_key:
            raise PermissionDeniedError("keep favorites", "this credential")
        return principal.user_id

    @staticmethod
    def _check_object(s: Session, principal: Principal, object_type: str, object_id: int) -> None:
        model = OBJECT_TYPES.get(object_type)
        if model is None:
            raise InvalidInputError("object_type", "query or dashboard")
        org_id = s.scalar(select(model.org_id).where(model.id == object_id))
        if org_id != principal.org_id:
            raise NotFoundError(object_type, object_id)
