"""Sharing: objects shared with users and groups, and who reaches an object (docs/governance.md).

An object nobody has shared is open to its whole organization: each member reaches it as far as
their role allows (MODIFY when the role may write, else READ_ONLY). Once shared with anyone it is
*restricted*: only its author, admins (the role, or a group's ADMINISTRATION privilege) and the
users it is shared with, directly or through one of their effective groups, reach it. `MODIFY`
lets them change it when their role allows writing (`WRITE`; `MANAGE_SOURCES` for data sources).

Shares restrict users. Principals without a user (query keys, push tokens, public links) are not
subject to them: their own scope decides what they reach, as for row filters. A principal
reference is `("user", id)` or `("team", id)`; `"group"` is accepted for `"team"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import null, or_, select
from sqlalchemy.orm import Session

from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.governance.groups import GroupService
from openlytics.core.governance.privileges import contained_team_ids, containing_team_ids, effective_team_ids
from openlytics.core.principal import Action, Principal
from openlytics.store.db import Database
from openlytics.store.models import (
    Dashboard,
    Dataset,
    DataSource,
    PipelineInput,
    Query,
    Share,
    Team,
    TeamMember,
    User,
    Visualization,
)

KINDS = ("query", "visualization", "dashboard", "dataset", "data_source", "pipeline_input")
MODES = ("NO_ACCESS", "READ_ONLY", "MODIFY")  # weakest first
PrincipalRef = tuple[str, int]  # ("user", id) | ("team", id)

_MODELS: dict[str, Any] = {
    "query": Query,
    "visualization": Visualization,
    "dashboard": Dashboard,
    "dataset": Dataset,
    "data_source": DataSource,
    "pipeline_input": PipelineInput,
}
_RANK = {mode: rank for rank, mode in enumerate(MODES)}
_WRITE_ACTION = {
    kind: Action.MANAGE_SOURCES if kind in ("data_source", "pipeline_input") else Action.WRITE
    for kind in KINDS
}


class SharingService:
    """Shares of queries, visualizations, dashboards, datasets, data sources and pipeline inputs."""

    def __init__(self, db: Database, groups: GroupService) -> None:
        self.db = db
        self.groups = groups

    # ----- changing shares ---------------------------------------------------------------------
    def share(
        self, principal: Principal, kind: str, object_ids: Iterable[int], grants: Mapping[PrincipalRef, str]
    ) -> None:
        """Share objects with users and groups (READ_ONLY or MODIFY); NO_ACCESS removes a share.

        Needs MODIFY access to every object; grantees are of the caller's organization (else
        NotFoundError) and no NON_SHARABLE group (InvalidInputError). All or nothing.
        """
        kind, ids = _kind(kind), sorted(set(object_ids))
        wanted = {_ref(ref): _mode(mode, "mode") for ref, mode in grants.items()}
        with self.db.session() as s:
            modes = self._modes(s, principal, kind, ids)
            for object_id in ids:
                _check_reach(kind, object_id, modes.get(object_id), "MODIFY", action="share")
            _check_grantees(s, principal, wanted)
            objects = _objects(s, principal.org_id, kind, ids)
            existing: dict[tuple[int, str, int], Share] = {}
            for row in s.scalars(_shares_stmt(principal.org_id, kind, ids)):
                if _is_live(row, objects):
                    existing[(row.object_id, row.principal_kind, row.principal_id)] = row
                else:
                    s.delete(row)
            s.flush()
            for object_id in ids:
                for (principal_kind, principal_id), mode in wanted.items():
                    row = existing.get((object_id, principal_kind, principal_id))
                    if mode == "NO_ACCESS":
                        if row is not None:
                            s.delete(row)
                    elif row is not None:
                        row.mode, row.shared_by = mode, principal.user_id
                    else:
                        s.add(
                            Share(
                                org_id=principal.org_id,
                                object_kind=kind,
                                object_id=object_id,
                                principal_kind=principal_kind,
                                principal_id=principal_id,
                                mode=mode,
                                shared_by=principal.user_id,
                            )
                        )

    # ----- reading shares ----------------------------------------------------------------------
    def defined(self, principal: Principal, kind: str, object_id: int) -> dict[PrincipalRef, str]:
        """The object's shares as stored: {(principal kind, id): mode}."""
        kind = _kind(kind)
        with self.db.session() as s:
            self._require(s, principal, kind, object_id, "READ_ONLY")
            rows = _live_shares(s, principal.org_id, kind, _objects(s, principal.org_id, kind, [object_id]))
            return {(r.principal_kind, r.principal_id): r.mode for r in rows.get(object_id, [])}

    def effective(self, principal: Principal, kind: str, object_id: int) -> dict[PrincipalRef, str]:
        """The shares, plus the author (MODIFY) and every user a group share reaches."""
        kind = _kind(kind)
        with self.db.session() as s:
            self._require(s, principal, kind, object_id, "READ_ONLY")
            found: dict[PrincipalRef, str] = {}
            objects = _objects(s, principal.org_id, kind, [object_id])
            for row in _live_shares(s, principal.org_id, kind, objects).get(object_id, []):
                _raise_to(found, (row.principal_kind, row.principal_id), row.mode)
                if row.principal_kind == "team":
                    members = select(TeamMember.user_id).where(
                        TeamMember.team_id.in_(contained_team_ids(s, [row.principal_id]))
                    )
                    for user_id in s.scalars(members):
                        _raise_to(found, ("user", user_id), row.mode)
            author = objects[object_id].author
            if author is not None:
                found[("user", author)] = "MODIFY"
            return found

    def access(self, principal: Principal, kind: str, object_id: int) -> str:
        """The caller's access to the object: MODIFY, READ_ONLY or NO_ACCESS."""
        kind = _kind(kind)
        with self.db.session() as s:
            mode = self._modes(s, principal, kind, [object_id]).get(object_id)
        if mode is None:
            raise NotFoundError(kind, object_id)
        return mode

    def bulk_access(
        self, principal: Principal, ids_by_kind: Mapping[str, Iterable[int]]
    ) -> dict[str, dict[int, str]]:
        """The caller's access to many objects: {kind: {id: mode}}; unknown ids are NO_ACCESS."""
        wanted = {_kind(kind): sorted(set(ids)) for kind, ids in ids_by_kind.items()}
        with self.db.session() as s:
            answer: dict[str, dict[int, str]] = {}
            for kind, ids in wanted.items():
                modes = self._modes(s, principal, kind, ids)
                answer[kind] = {i: modes.get(i, "NO_ACCESS") for i in ids}
            return answer

    def visible_ids(self, principal: Principal, kind: str, object_ids: Iterable[int]) -> set[int]:
        """Those of `object_ids` that exist in the organization and the caller reaches."""
        kind = _kind(kind)
        with self.db.session() as s:
            modes = self._modes(s, principal, kind, sorted(set(object_ids)))
        return {i for i, mode in modes.items() if mode != "NO_ACCESS"}

    def hidden_ids(self, principal: Principal, kind: str) -> set[int]:
        """The restricted objects of `kind` the caller does not reach (lists leave them out in SQL).

        Only shared objects can be hidden, so this reads the shares of `kind`, not every object.
        """
        kind = _kind(kind)
        if principal.object_scope is not None:  # an object token: everything else is hidden
            reached = {i for k, i in principal.object_scope if k == kind}
            with self.db.session() as s:
                ids = s.scalars(select(_MODELS[kind].id).where(_MODELS[kind].org_id == principal.org_id))
                return {i for i in ids if i not in reached}
        if principal.user_id is None or principal.can(Action.MANAGE_USERS):
            return set()
        with self.db.session() as s:
            shared = s.scalars(
                select(Share.object_id)
                .where(Share.org_id == principal.org_id, Share.object_kind == kind)
                .distinct()
            )
            modes = self._modes(s, principal, kind, sorted(shared))
        return {i for i, mode in modes.items() if mode == "NO_ACCESS"}

    def require(self, principal: Principal, kind: str, object_id: int, mode: str = "READ_ONLY") -> None:
        """NotFoundError when the caller may not see the object, PermissionDeniedError when it sees
        it but `mode` is MODIFY and it may not modify it."""
        kind, mode = _kind(kind), _mode(mode, "mode")
        with self.db.session() as s:
            self._require(s, principal, kind, object_id, mode)

    def shared_with(
        self, principal: Principal, ref: PrincipalRef, kind: str | None = None
    ) -> list[tuple[str, int, str]]:
        """What a user or group reaches through shares (theirs and their groups'): (kind, id, mode)."""
        principal_kind, principal_id = _ref(ref)
        kinds = KINDS if kind is None else (_kind(kind),)
        principal.require(Action.READ, "shares")
        with self.db.session() as s:
            own_teams = _own_team_ids(s, principal)
            is_own = (principal_kind, principal_id) == ("user", principal.user_id) or (
                principal_kind == "team" and principal_id in own_teams
            )
            if not is_own:
                principal.require(Action.MANAGE_USERS, f"shares of {principal_kind} {principal_id}")
            if principal_kind == "user":
                _existing(s, principal, User, [principal_id], "user")
                teams = effective_team_ids(s, principal.org_id, principal_id)
            else:
                _existing(s, principal, Team, [principal_id], "group")
                teams = containing_team_ids(s, [principal_id])
            reaches = [(Share.principal_kind == "team") & Share.principal_id.in_(teams)]
            if principal_kind == "user":
                reaches.append((Share.principal_kind == "user") & (Share.principal_id == principal_id))
            stmt = select(Share).where(
                Share.org_id == principal.org_id, Share.object_kind.in_(kinds), or_(*reaches)
            )
            rows = list(s.scalars(stmt))
            objects = {
                object_kind: _objects(s, principal.org_id, object_kind, [r.object_id for r in rows])
                for object_kind in {r.object_kind for r in rows}
            }
            best: dict[tuple[str, int], str] = {}
            for row in rows:
                if _is_live(row, objects[row.object_kind]):  # deleted objects are left out
                    _raise_to(best, (row.object_kind, row.object_id), row.mode)
        return sorted((k, i, mode) for (k, i), mode in best.items())

    # ----- helpers -----------------------------------------------------------------------------
    def _require(self, s: Session, principal: Principal, kind: str, object_id: int, mode: str) -> None:
        reached = self._modes(s, principal, kind, [object_id]).get(object_id)
        _check_reach(kind, object_id, reached, mode, action="modify")

    def _modes(self, s: Session, principal: Principal, kind: str, ids: list[int]) -> dict[int, str]:
        """The caller's mode for each of `ids` that exists in its organization."""
        if principal.object_scope is not None:
            # An object token: READ_ONLY on its objects as far as its user reaches them, else nothing.
            user_modes = self._modes(s, replace(principal, object_scope=None), kind, ids)
            return {
                object_id: "READ_ONLY"
                if (kind, object_id) in principal.object_scope and mode != "NO_ACCESS"
                else "NO_ACCESS"
                for object_id, mode in user_modes.items()
            }
        objects = _objects(s, principal.org_id, kind, ids)
        if not principal.can(Action.READ):
            return dict.fromkeys(objects, "NO_ACCESS")
        may_write = principal.can(_WRITE_ACTION[kind])
        if principal.can(Action.MANAGE_USERS):  # admins reach everything
            return dict.fromkeys(objects, "MODIFY" if may_write else "READ_ONLY")
        open_mode = "MODIFY" if may_write else "READ_ONLY"
        if principal.user_id is None:
            return dict.fromkeys(objects, open_mode)
        teams = _own_team_ids(s, principal)
        shares = _live_shares(s, principal.org_id, kind, objects)
        modes: dict[int, str] = {}
        for object_id, found in objects.items():
            rows = shares.get(object_id)
            if not rows:
                modes[object_id] = open_mode
                continue
            author = found.author
            reached = "MODIFY" if author is not None and author == principal.user_id else "NO_ACCESS"
            for row in rows:
                if (row.principal_kind == "user" and row.principal_id == principal.user_id) or (
                    row.principal_kind == "team" and row.principal_id in teams
                ):
                    reached = max(reached, row.mode, key=_RANK.__getitem__)
            modes[object_id] = "READ_ONLY" if reached == "MODIFY" and not may_write else reached
        return modes


class _Object(NamedTuple):
    author: int | None
    created_at: datetime


def _objects(s: Session, org_id: int, kind: str, ids: Iterable[int]) -> dict[int, _Object]:
    """{object id: its author (None when it has none) and creation time}, for those that exist in the org."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    if kind == "query":
        stmt = select(Query.id, Query.user_id, Query.created_at).where(
            Query.org_id == org_id, Query.id.in_(ids)
        )
    elif kind == "visualization":
        stmt = (
            select(Visualization.id, Query.user_id, Visualization.created_at)
            .join(Query, Query.id == Visualization.query_id)
            .where(Visualization.org_id == org_id, Visualization.id.in_(ids))
        )
    elif kind == "dashboard":
        stmt = select(Dashboard.id, Dashboard.user_id, Dashboard.created_at).where(
            Dashboard.org_id == org_id, Dashboard.id.in_(ids)
        )
    elif kind == "dataset":
        stmt = select(Dataset.id, Dataset.user_id, Dataset.created_at).where(
            Dataset.org_id == org_id, Dataset.id.in_(ids)
        )
    elif kind == "pipeline_input":
        stmt = select(PipelineInput.id, null(), PipelineInput.created_at).where(
            PipelineInput.org_id == org_id, PipelineInput.id.in_(ids), PipelineInput.deleted_at.is_(None)
        )
    else:
        stmt = select(DataSource.id, null(), DataSource.created_at).where(
            DataSource.org_id == org_id, DataSource.id.in_(ids)
        )
    return {object_id: _Object(author, created_at) for object_id, author, created_at in s.execute(stmt)}


def _is_live(row: Share, objects: Mapping[int, _Object]) -> bool:
    # Shares are not deleted with their object, and SQLite may give a new object the id of a
    # deleted one: a share older than the object it names was made to its predecessor.
    found = objects.get(row.object_id)
    return found is not None and row.created_at >= found.created_at


def _live_shares(
    s: Session, org_id: int, kind: str, objects: Mapping[int, _Object]
) -> dict[int, list[Share]]:
    """The shares of `objects`, by object id (those made to a deleted predecessor left out)."""
    found: dict[int, list[Share]] = {}
    for row in s.scalars(_shares_stmt(org_id, kind, list(objects))):
        if _is_live(row, objects):
            found.setdefault(row.object_id, []).append(row)
    return found


def _shares_stmt(org_id: int, kind: str, ids: list[int]) -> Any:
    return select(Share).where(Share.org_id == org_id, Share.object_kind == kind, Share.object_id.in_(ids))


def _own_team_ids(s: Session, principal: Principal) -> frozenset[int]:
    if principal.user_id is None:
        return frozenset()
    # Read afresh rather than trusting principal.team_ids: principals may be built by hand.
    return effective_team_ids(s, principal.org_id, principal.user_id)


def _check_reach(kind: str, object_id: int, reached: str | None, wanted: str, *, action: str) -> None:
    if reached is None or reached == "NO_ACCESS":
        raise NotFoundError(kind, object_id)
    if _RANK[reached] < _RANK[wanted]:
        raise PermissionDeniedError(action, f"{kind} {object_id}")


def _check_grantees(s: Session, principal: Principal, grants: Mapping[PrincipalRef, str]) -> None:
    """Every grantee is of the organization; no NON_SHARABLE group is given access."""
    user_ids = [i for k, i in grants if k == "user"]
    _existing(s, principal, User, user_ids, "user")
    team_ids = [i for k, i in grants if k == "team"]
    for team in _existing(s, principal, Team, team_ids, "group"):
        if team.visibility == "NON_SHARABLE" and grants[("team", team.id)] != "NO_ACCESS":
            raise InvalidInputError(
                "grants", f"group {team.id} is NON_SHARABLE: nothing can be shared with it"
            )


def _existing(s: Session, principal: Principal, model: Any, ids: list[int], name: str) -> list[Any]:
    if not ids:
        return []
    found = list(s.scalars(select(model).where(model.org_id == principal.org_id, model.id.in_(ids))))
    missing = set(ids) - {row.id for row in found}
    if missing:
        raise NotFoundError(name, min(missing))
    return found


def _raise_to(found: dict[Any, str], key: Any, mode: str) -> None:
    if _RANK[mode] > _RANK[found.get(key, "NO_ACCESS")]:
        found[key] = mode


def _kind(value: str) -> str:
    if value not in KINDS:
        raise InvalidInputError("kind", f"one of {', '.join(KINDS)}")
    return value


def _mode(value: Any, field: str) -> str:
    mode = value.strip().upper() if isinstance(value, str) else value
    if mode not in MODES:
        raise InvalidInputError(field, "READ_ONLY, MODIFY or NO_ACCESS")
    return str(mode)


def _ref(ref: Any) -> PrincipalRef:
    try:
        principal_kind, principal_id = ref
    except (TypeError, ValueError):
        raise InvalidInputError("principal", "a (kind, id) pair") from None
    principal_kind = {"group": "team"}.get(principal_kind, principal_kind)
    if (
        principal_kind not in ("user", "team")
        or not isinstance(principal_id, int)
        or isinstance(principal_id, bool)
    ):
        raise InvalidInputError("principal", "('user' or 'team', integer id)")
    return principal_kind, principal_id
