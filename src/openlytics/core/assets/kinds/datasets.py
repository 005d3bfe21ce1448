"""Datasets as documents: their schema and settings, never their rows (rows are data, not code).

An import runs inside one metadata transaction that may be rolled back (a plan, validate-only, a
failing all-or-nothing import), but warehouse work cannot be. So the document's columns are
validated up front, the dataset's row is created or changed inside the transaction, and its
warehouse side (the table with its columns, added columns, a rename re-pointing its view) is made
once the import is committed (`UnitOfWork.after_commit`). When that fails, the datasets the import
created are deleted again (best effort) and the error propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from openlytics.core.assets.context import AssetContext, ExportContext, ImportContext
from openlytics.core.assets.documents import reference
from openlytics.core.assets.kinds.base import AssetKind, known_fields, text_field
from openlytics.core.datasets import column_types as types
from openlytics.core.datasets.writes import TableWriter
from openlytics.core.errors import ConflictError, InvalidInputError
from openlytics.core.principal import Principal
from openlytics.store.models import Dataset

log = logging.getLogger(__name__)

_FIELDS = frozenset({"name", "description", "columns", "primary_key", "options", "source_query"})
_WHERE = "dataset"


class DatasetKind(AssetKind):
    """A dataset's schema (columns, primary key), description, options and source query."""

    name = "dataset"
    model = Dataset
    share_kind = "dataset"

    def get(self, ctx: AssetContext, object_id: int) -> Dataset:
        return ctx.services.datasets.get(ctx.principal, object_id)

    def body(self, ctx: ExportContext, obj: Dataset) -> dict[str, Any]:
        source_query = None
        if obj.source_query_id is not None:
            query = ctx.kinds["query"].get(ctx, obj.source_query_id)
            source_query = reference(query.name, query.uuid, fqn=ctx.fqn)
        return {
            "name": obj.name,
            "description": obj.description,
            "columns": [{"name": c["name"], "type": c["type"]} for c in obj.columns or []],
            "primary_key": list(obj.primary_key or []),
            "options": dict(obj.options or {}),
            "source_query": source_query,
        }

    def associations(self, ctx: ExportContext, obj: Dataset) -> list[tuple[str, int]]:
        return [] if obj.source_query_id is None else [("query", obj.source_query_id)]

    def create(self, ctx: ImportContext, body: dict[str, Any]) -> Dataset:
        known_fields(body, _FIELDS, self.name)
        columns = _columns(body) or []
        primary_key = _primary_key(body, columns)
        settings: dict[str, Any] = {
            "name": text_field(body, "name", _WHERE, required=True),
            "description": text_field(body, "description", _WHERE),
            "options": _options(body),
            "primary_key": primary_key,
        }
        if body.get("source_query") is not None:
            settings["source_query_id"] = _source_query(ctx, body)
        # The row only: its table is made once the import is committed.
        dataset = ctx.services.datasets.create(ctx.principal, **settings)
        if columns:
            _after_commit(ctx, _create_table(ctx, dataset.id, columns))
        return dataset

    def update(self, ctx: ImportContext, obj: Dataset, body: dict[str, Any]) -> Dataset:
        known_fields(body, _FIELDS, self.name)
        current = [{"name": c["name"], "type": c["type"]} for c in obj.columns or []]
        columns = _columns(body)
        added = _added_columns(current, columns) if columns is not None else []
        final = current + added
        settings: dict[str, Any] = {}
        if "description" in body:
            settings["description"] = text_field(body, "description", _WHERE) or ""
        if "options" in body:
            settings["options"] = _options(body)
        if "source_query" in body:
            settings["source_query_id"] = (
                _source_query(ctx, body) if body["source_query"] is not None else None
            )
        deferred_key = None
        if "primary_key" in body:
            key = _primary_key(body, final)
            current_names = {c["name"] for c in current}
            # The service checks a key against the stored columns: one naming a column this
            # import adds is set once that column exists.
            if not current or set(key) <= current_names:
                settings["primary_key"] = key
            else:
                deferred_key = key
        rename = None
        name = text_field(body, "name", _WHERE)
        if name is not None and name.strip() != obj.name:
            if obj.table_name is None:
                settings["name"] = name  # no view yet: a rename is metadata only
            else:
                rename = _checked_rename(ctx, obj, name)
        service = ctx.services.datasets
        dataset = service.update_settings(ctx.principal, obj.id, **settings) if settings else obj
        if added or deferred_key is not None or rename is not None:
            _after_commit(ctx, _change_table(ctx, obj.id, added, deferred_key, rename))
        return dataset

    def remember(self, ctx: ImportContext, obj: Dataset, body: dict[str, Any], document_guid: Any) -> None:
        super().remember(ctx, obj, body, document_guid)
        # A rename waiting for the commit: later documents may already use the new name.
        ctx.remember(self.name, obj.id, body.get("name"))


# ----- the document's fields -----------------------------------------------------------------
def _columns(body: dict[str, Any]) -> list[dict[str, str]] | None:
    """The document's columns, validated as the dataset service does and with our type names;
    None when the body leaves them out."""
    if "columns" not in body or body["columns"] is None:
        return None
    columns = body["columns"]
    if not isinstance(columns, list):
        raise InvalidInputError("dataset.columns", "a list of {name, type}")
    for position, column in enumerate(columns):
        if isinstance(column, dict):
            known_fields(column, frozenset({"name", "type"}), f"dataset.columns[{position}]")
    try:
        schema = types.schema_of(columns)
    except InvalidInputError as error:
        raise InvalidInputError(f"dataset.{error.field}", error.reason) from None
    return types.columns_of(schema)


def _added_columns(current: list[dict[str, str]], wanted: list[dict[str, str]]) -> list[dict[str, str]]:
    """The columns a document adds after the stored ones; changing, dropping or reordering stored
    columns would need the data reloaded, which an import never does."""
    wanted_types = {c["name"]: c["type"] for c in wanted}
    for position, column in enumerate(current):
        where = f"dataset.columns[{position}]"
        if column["name"] not in wanted_types:
            raise InvalidInputError(
                where,
                f"column {column['name']!r} cannot be dropped by an import: reload the dataset's data "
                "without it",
            )
        if types.type_name(column["type"]) != wanted_types[column["name"]]:
            raise InvalidInputError(
                where,
                f"column {column['name']!r} is {column['type']}: changing its type to "
                f"{wanted_types[column['name']]} needs reloading the data (an import never does)",
            )
        if position >= len(wanted) or wanted[position]["name"] != column["name"]:
            raise InvalidInputError(
                where,
                f"expected column {column['name']!r}: existing columns keep their order, new ones "
                "come after them",
            )
    return wanted[len(current) :]


def _primary_key(body: dict[str, Any], columns: list[dict[str, str]]) -> list[str]:
    key = body.get("primary_key")
    if key is None:
        return []
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, list) or not all(isinstance(k, str) and k for k in key):
        raise InvalidInputError("dataset.primary_key", "a list of column names")
    names = {c["name"] for c in columns}
    unknown = [k for k in key if k not in names]
    if columns and unknown:
        raise InvalidInputError("dataset.primary_key", f"no column {unknown[0]!r}")
    return list(dict.fromkeys(key))


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options")
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidInputError("dataset.options", "a mapping")
    return options


def _source_query(ctx: ImportContext, body: dict[str, Any]) -> int:
    return ctx.resolve("query", body["source_query"], "dataset.source_query")


def _checked_rename(ctx: ImportContext, obj: Dataset, name: str) -> str:
    """A new name, checked now so a plan reports what the rename after the commit would refuse."""
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidInputError("dataset.name", "1 to 255 characters")
    if name.startswith(TableWriter.TABLE_PREFIX):
        raise InvalidInputError("dataset.name", f"must not start with {TableWriter.TABLE_PREFIX!r}")
    clash = ctx.session.scalar(
        select(Dataset.id).where(Dataset.org_id == obj.org_id, Dataset.name == name, Dataset.id != obj.id)
    )
    if clash is not None:
        raise ConflictError(f"a dataset named {name!r} exists", field="name")
    return name


# ----- warehouse work after the commit -------------------------------------------------------
class _WarehouseSteps:
    """The warehouse work of one import's datasets, run in order once the import is committed.

    Every step runs even when an earlier one fails (each undoes what it can of its own work); the
    first failure is raised at the end."""

    def __init__(self) -> None:
        self.steps: list[Callable[[], None]] = []

    def __call__(self) -> None:
        failure: Exception | None = None
        for step in self.steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001 - raised below, after the other steps ran
                failure = failure or error
        if failure is not None:
            raise failure


def _after_commit(ctx: ImportContext, step: Callable[[], None]) -> None:
    unit = ctx.unit
    assert unit is not None, "an import runs inside a unit of work"
    batch = next((cb for cb in unit.after_commit_callbacks if isinstance(cb, _WarehouseSteps)), None)
    if batch is None:
        batch = _WarehouseSteps()
        unit.after_commit(batch)
    batch.steps.append(step)


def _create_table(ctx: ImportContext, dataset_id: int, columns: list[dict[str, str]]) -> Callable[[], None]:
    """Give a dataset this import created its table; delete the dataset when that fails."""
    datasets, principal = ctx.services.datasets, ctx.principal

    def step() -> None:
        try:
            datasets.add_columns(principal, dataset_id, columns)
        except BaseException:
            _delete_quietly(ctx, principal, dataset_id)
            raise

    return step


def _change_table(
    ctx: ImportContext,
    dataset_id: int,
    added: list[dict[str, str]],
    primary_key: list[str] | None,
    rename: str | None,
) -> Callable[[], None]:
    """Add columns to an existing dataset's table, then set a key naming them, then rename it."""
    datasets, principal = ctx.services.datasets, ctx.principal

    def step() -> None:
        if added:
            datasets.add_columns(principal, dataset_id, added)
        if primary_key is not None:
            datasets.update_settings(principal, dataset_id, primary_key=primary_key)
        if rename is not None:
            datasets.update_settings(principal, dataset_id, name=rename)

    return step


def _delete_quietly(ctx: ImportContext, principal: Principal, dataset_id: int) -> None:
    try:
        ctx.services.datasets.delete(principal, dataset_id)
    except Exception:  # the original failure matters more; this one is only logged
        log.exception("could not delete dataset %s after its import failed", dataset_id)
