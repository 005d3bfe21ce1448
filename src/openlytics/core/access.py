"""The small interface services hold to ask whether a caller reaches a shared object.

`SharingService` (core/governance/sharing.py) implements it; the application sets it on each
service after construction (app.py), as it sets `DatasetService.row_filters`. A service without
one (unit tests building services directly) restricts nothing. Principals without a user (query
keys, push tokens, public links, the system) are never limited by shares, so these helpers skip
them without asking (docs/governance.md "Enforcement").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Select, or_

from openlytics.core.principal import Principal


class ObjectAccess(Protocol):
    """Who reaches a shareable object (query, visualization, dashboard, dataset, data_source)."""

    def require(self, principal: Principal, kind: str, object_id: int, mode: str = "READ_ONLY") -> None:
        """NotFoundError when the caller may not see the object, PermissionDeniedError when it sees
        it but `mode` is MODIFY and it may not modify it."""
        ...

    def visible_ids(self, principal: Principal, kind: str, object_ids: Iterable[int]) -> set[int]:
        """Those of `object_ids` that exist in the organization and the caller reaches."""
        ...

    def hidden_ids(self, principal: Principal, kind: str) -> set[int]:
        """The restricted objects of `kind` the caller does not reach."""
        ...


def require_access(
    access: ObjectAccess | None, principal: Principal, kind: str, object_id: int, mode: str = "READ_ONLY"
) -> None:
    """`access.require(...)`, unless there is no `access` or the principal has no user."""
    if access is not None and principal.user_id is not None:
        access.require(principal, kind, object_id, mode)


def visible(
    access: ObjectAccess | None, principal: Principal, kind: str, object_ids: Iterable[int]
) -> set[int]:
    """Those of `object_ids` the caller reaches (all of them without `access` or a user)."""
    ids = set(object_ids)
    if access is None or principal.user_id is None or not ids:
        return ids
    return access.visible_ids(principal, kind, ids)


def without_hidden(
    stmt: Select[Any], access: ObjectAccess | None, principal: Principal, kind: str, column: Any
) -> Select[Any]:
    """`stmt` leaving out the rows whose `column` names an object of `kind` hidden from the caller
    (rows where it is NULL stay)."""
    if access is None or principal.user_id is None:
        return stmt
    hidden = access.hidden_ids(principal, kind)
    return stmt.where(or_(column.is_(None), column.not_in(sorted(hidden)))) if hidden else stmt
