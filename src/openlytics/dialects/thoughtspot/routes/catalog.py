"""The caller's metadata objects by ThoughtSpot type, and principals by GUID.

Lists come from the core services' public lists; the objects that can be shared are then kept
only when the caller reaches them (`SharingService.visible_ids`, one call per type).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.pagination import all_pages
from openlytics.core.principal import Principal
from openlytics.dialects.thoughtspot import wire
from openlytics.dialects.thoughtspot import wire_metadata as meta
from openlytics.dialects.thoughtspot.routes.common import all_users
from openlytics.store.models import Dashboard, Dataset, DataSource, Query, Team, User

#: The sharing kind of each type that can be shared.
SHARING_KINDS = {
    meta.LIVEBOARD: "dashboard",
    meta.ANSWER: "query",
    meta.TABLE: "dataset",
    meta.DATA_SOURCE: "data_source",
}
TYPES = (*SHARING_KINDS, meta.USER, meta.GROUP, meta.TAG, meta.COLUMN)
_MODELS: dict[str, Any] = {
    meta.LIVEBOARD: Dashboard,
    meta.ANSWER: Query,
    meta.TABLE: Dataset,
    meta.DATA_SOURCE: DataSource,
}


@dataclass
class Item:
    """One object as a listing sees it."""

    type: str
    id: int
    guid: str
    header: dict[str, Any]
    obj: Any
    author_id: int | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        """The sharing kind (None for users, groups, tags and columns)."""
        return SHARING_KINDS.get(self.type)


def object_type(value: str | None, field: str = "type") -> tuple[str, list[str]]:
    """A type name -> (type, subtypes): a table subtype, or a V2 name, sent as `type` is accepted."""
    if value is None or not value.strip():
        raise InvalidInputError(field, "required: a metadata type such as PINBOARD_ANSWER_BOOK")
    name = value.strip().upper()
    if name in meta.TABLE_SUBTYPES:
        return meta.TABLE, [name]
    name = meta.V2_TYPES.get(name, name)
    if name not in TYPES:
        raise InvalidInputError(field, f"one of {', '.join(TYPES)} (or a table subtype), not {value!r}")
    return name, []


@dataclass
class Catalog:
    """The caller's objects, loaded once per request and per type."""

    app: Openlytics
    caller: Principal
    _users: dict[int, User] | None = None
    _groups: list[Team] | None = None

    @property
    def users(self) -> list[User]:
        """Every user of the organization."""
        return list(self._user_map().values())

    def user(self, user_id: int | None) -> User | None:
        """A user by id (None when unknown)."""
        return self._user_map().get(user_id) if user_id is not None else None

    def _user_map(self) -> dict[int, User]:
        if self._users is None:
            self._users = {u.id: u for u in all_users(self.app, self.caller)}
        return self._users

    def items(
        self,
        kind: str,
        *,
        subtypes: Iterable[str] = (),
        hidden: bool = False,
        favorites: bool = False,
    ) -> list[Item]:
        """The objects of a type the caller sees (archived ones with `hidden`)."""
        if kind == meta.TAG:
            return [] if favorites else self._tags()
        if kind == meta.COLUMN:
            return [] if favorites else self._columns()
        if favorites and kind not in (meta.LIVEBOARD, meta.ANSWER):
            return []
        found = self._load(kind, hidden=hidden, favorites=favorites)
        wanted = set(subtypes)
        if kind == meta.TABLE and wanted and not wanted & {"WORKSHEET", "USER_DEFINED"}:
            found = [i for i in found if i.header.get("subtype") in wanted]
        if kind in SHARING_KINDS:
            visible = self.app.sharing.visible_ids(self.caller, SHARING_KINDS[kind], [i.id for i in found])
            found = [i for i in found if i.id in visible]
        return found

    def find(self, kind: str, guids: Iterable[str]) -> list[Item]:
        """The objects with these GUIDs, in order; NotFoundError for one the caller does not see.

        Objects that can be shared are read one by one through their service (which checks the
        caller may see them), not by listing the whole type."""
        if kind in SHARING_KINDS:
            found = []
            for value in guids:
                item = self._one(kind, value)
                if item is None:
                    raise NotFoundError(kind, value)
                found.append(item)
            return found
        by_guid = {i.guid: i for i in self.items(kind, hidden=True)}
        found = []
        for value in guids:
            item = by_guid.get(str(value).strip().lower())
            if item is None:
                raise NotFoundError(kind, value)
            found.append(item)
        return found

    def _one(self, kind: str, value: Any) -> Item | None:
        try:
            guid = uuid.UUID(str(value).strip())
        except ValueError:
            return None
        model = _MODELS[kind]
        with self.app.db.session() as s:
            object_id = s.scalar(
                select(model.id).where(model.org_id == self.caller.org_id, model.uuid == guid)
            )
        if object_id is None:
            return None
        app, caller = self.app, self.caller
        try:
            if kind == meta.LIVEBOARD:
                return self._item(kind, app.dashboards.get(caller, str(guid)).dashboard)
            if kind == meta.ANSWER:
                return self._item(kind, app.queries.get(caller, object_id))
            if kind == meta.TABLE:
                return self._item(kind, app.datasets.get(caller, object_id))
            return self._item(kind, app.sources.get(caller, object_id))
        except NotFoundError:
            return None

    def _item(self, kind: str, obj: Any) -> Item:
        """A liveboard, answer, table or data source as a listing sees it."""
        if kind == meta.LIVEBOARD:
            head = meta.dashboard_header(obj, obj.user)
            return Item(kind, obj.id, str(obj.uuid), head, obj, obj.user_id, list(obj.tags or []))
        if kind == meta.ANSWER:
            head = meta.query_header(obj, obj.user)
            return Item(kind, obj.id, str(obj.uuid), head, obj, obj.user_id, list(obj.tags or []))
        if kind == meta.TABLE:
            head = meta.dataset_header(obj, self.user(obj.user_id))
            return Item(kind, obj.id, str(obj.uuid), head, obj, obj.user_id)
        return Item(kind, obj.id, str(obj.uuid), meta.data_source_header(obj), obj)

    # ----- loading ---------------------------------------------------------------------------------
    def _load(self, kind: str, *, hidden: bool, favorites: bool) -> list[Item]:
        app, caller = self.app, self.caller
        if kind == meta.USER:
            return [Item(kind, u.id, str(u.uuid), wire.user_header(u), u, u.id) for u in self.users]
        if kind == meta.GROUP:
            return [self._group(t) for t in self.groups()]
        if kind == meta.LIVEBOARD:
            boards = all_pages(
                lambda p, n: app.dashboards.list(
                    caller, include_archived=hidden, favorites_only=favorites, page=p, per_page=n
                )
            )
            return [self._item(kind, d) for d in boards]
        if kind == meta.ANSWER:
            queries = all_pages(
                lambda p, n: app.queries.list(
                    caller, include_archived=hidden, favorites_only=favorites, page=p, per_page=n
                )
            )
            return [self._item(kind, q) for q in queries]
        if kind == meta.TABLE:
            datasets = all_pages(lambda p, n: app.datasets.list(caller, page=p, per_page=n))
            return [self._item(kind, d) for d in datasets]
        sources = all_pages(lambda p, n: app.sources.list(caller, page=p, per_page=n))
        return [self._item(kind, s) for s in sources]

    def _group(self, team: Team) -> Item:
        author = self.user(team.author_id)
        return Item(
            meta.GROUP, team.id, str(team.uuid), wire.group_header(team, author), team, team.author_id
        )

    def _tags(self) -> list[Item]:
        names = sorted(
            {t for i in [*self.items(meta.LIVEBOARD), *self.items(meta.ANSWER)] for t in i.tags},
            key=str.lower,
        )
        org = self.caller.org_id
        return [Item(meta.TAG, 0, meta.tag_guid(org, n), meta.tag_header(org, n), n) for n in names]

    def _columns(self) -> list[Item]:
        found = []
        for table in self.items(meta.TABLE):
            author = self.user(table.author_id)
            for column in table.obj.columns or []:
                if isinstance(column, dict):
                    head = meta.column_header(table.obj, column, author)
                    found.append(Item(meta.COLUMN, table.id, head["id"], head, column, table.author_id))
        return found

    # ----- principals ------------------------------------------------------------------------------
    def principal(self, value: str) -> tuple[str, int]:
        """A user's or group's GUID (or name) -> ("user"|"team", id); NotFoundError otherwise."""
        wanted = str(value).strip().lower()
        for user in self.users:
            if wanted in (str(user.uuid), user.email.lower()):
                return ("user", user.id)
        for team in self.groups():
            if wanted in (str(team.uuid), team.name.lower()):
                return ("team", team.id)
        raise NotFoundError("principal", value)

    def groups(self) -> list[Team]:
        """Every group of the organization."""
        if self._groups is None:
            self._groups = self.app.groups.list(self.caller)
        return self._groups

    def principal_guids(self) -> dict[tuple[str, int], tuple[str, str, str]]:
        """(kind, id) -> (GUID, type, name) for every user and group."""
        found = {("user", u.id): (str(u.uuid), meta.USER, u.email) for u in self.users}
        found.update({("team", t.id): (str(t.uuid), meta.GROUP, t.name) for t in self.groups()})
        return found


def name_matcher(pattern: str) -> Callable[[str], bool]:
    """Part of a name, any case; `%` matches any text."""
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("%")), re.IGNORECASE)
    return lambda name: regex.search(name) is not None
