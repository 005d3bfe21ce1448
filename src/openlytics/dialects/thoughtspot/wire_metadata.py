"""Metadata objects as ThoughtSpot shows them: type names, headers and `metadata/details` storables.

Liveboards are dashboards, answers saved queries, logical tables datasets, data sources data
sources; tags are the tags of queries and dashboards and logical columns the columns of datasets.
GUIDs are our uuids; a tag's GUID is derived from its organization and name, a column's from its
dataset and name (neither has a row of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from openlytics.core.dashboards import DashboardDetail
from openlytics.dialects.thoughtspot.wire import millis
from openlytics.store.models import Dashboard, Dataset, DataSource, Query, User, Visualization

LIVEBOARD = "PINBOARD_ANSWER_BOOK"
ANSWER = "QUESTION_ANSWER_BOOK"
TABLE = "LOGICAL_TABLE"
COLUMN = "LOGICAL_COLUMN"
DATA_SOURCE = "DATA_SOURCE"
USER = "USER"
GROUP = "USER_GROUP"
TAG = "TAG"
TABLE_SUBTYPES = (
    "ONE_TO_ONE_LOGICAL",
    "WORKSHEET",
    "AGGR_WORKSHEET",
    "SQL_VIEW",
    "PRIVATE_WORKSHEET",
    "USER_DEFINED",
)
#: A dataset is a table of its own (ONE_TO_ONE_LOGICAL) unless a query builds it (AGGR_WORKSHEET).
TABLE_SUBTYPE, VIEW_SUBTYPE = "ONE_TO_ONE_LOGICAL", "AGGR_WORKSHEET"
#: V2 names of the same types.
V2_TYPES = {
    "LIVEBOARD": LIVEBOARD,
    "ANSWER": ANSWER,
    "CONNECTION": DATA_SOURCE,
    "LOGICAL_TABLE": TABLE,
    "LOGICAL_COLUMN": COLUMN,
    "TAG": TAG,
    "USER": USER,
    "USER_GROUP": GROUP,
}
V2_NAMES = {v1: v2 for v2, v1 in V2_TYPES.items()}
_TAGS = uuid.UUID("6f1b0d55-4c1e-4f0e-9a53-3d1f6a0c7e21")


def tag_guid(org_id: int, name: str) -> str:
    """The GUID of a tag: the same for the same name in an organization."""
    return str(uuid.uuid5(_TAGS, f"{org_id}:{name}"))


def column_guid(dataset: Dataset, name: str) -> str:
    """The GUID of a dataset's column."""
    return str(uuid.uuid5(dataset.uuid, name))


def header(
    *,
    id: str,
    name: str,
    kind: str,
    created: datetime | None,
    modified: datetime | None,
    author: User | None,
    description: str | None = None,
    subtype: str | None = None,
    tags: Iterable[dict[str, Any]] = (),
    hidden: bool = False,
    owner: str | None = None,
) -> dict[str, Any]:
    """A metadata object's header."""
    author_guid = str(author.uuid) if author is not None else ""
    found: dict[str, Any] = {
        "id": id,
        "name": name,
        "displayName": name,
        "description": description or "",
        "type": kind,
        "author": author_guid,
        "authorName": author.email if author is not None else "",
        "authorDisplayName": author.name if author is not None else "",
        "created": millis(created),
        "modified": millis(modified),
        "modifiedBy": author_guid,
        "owner": owner or id,
        "isDeleted": False,
        "isHidden": hidden,
        "isExternal": False,
        "isDeprecated": False,
        "tags": list(tags),
    }
    if subtype is not None:
        found["subtype"] = subtype
    return found


def tag_headers(org_id: int, names: Iterable[Any]) -> list[dict[str, Any]]:
    """The small headers of tags carried inside another object's header."""
    return [{"id": tag_guid(org_id, str(n)), "name": str(n), "type": TAG} for n in names]


def dashboard_header(dashboard: Dashboard, author: User | None) -> dict[str, Any]:
    """A liveboard's header."""
    return header(
        id=str(dashboard.uuid),
        name=dashboard.name,
        kind=LIVEBOARD,
        created=dashboard.created_at,
        modified=dashboard.updated_at,
        author=author,
        tags=tag_headers(dashboard.org_id, dashboard.tags or []),
        hidden=dashboard.is_archived,
    )


def query_header(query: Query, author: User | None) -> dict[str, Any]:
    """An answer's header."""
    return header(
        id=str(query.uuid),
        name=query.name,
        kind=ANSWER,
        created=query.created_at,
        modified=query.updated_at,
        author=author,
        description=query.description,
        tags=tag_headers(query.org_id, query.tags or []),
        hidden=query.is_archived,
    )


def dataset_subtype(dataset: Dataset) -> str:
    """ONE_TO_ONE_LOGICAL, or AGGR_WORKSHEET for a dataset a query builds."""
    return VIEW_SUBTYPE if dataset.source_query_id is not None else TABLE_SUBTYPE


def dataset_header(dataset: Dataset, author: User | None) -> dict[str, Any]:
    """A logical table's header."""
    return header(
        id=str(dataset.uuid),
        name=dataset.name,
        kind=TABLE,
        subtype=dataset_subtype(dataset),
        created=dataset.created_at,
        modified=dataset.updated_at,
        author=author,
        description=dataset.description,
    )


def column_header(dataset: Dataset, column: dict[str, Any], author: User | None) -> dict[str, Any]:
    """A logical column's header; its owner is its table."""
    name = str(column.get("name", ""))
    return header(
        id=column_guid(dataset, name),
        name=name,
        kind=COLUMN,
        created=dataset.created_at,
        modified=dataset.updated_at,
        author=author,
        owner=str(dataset.uuid),
    )


def data_source_header(source: DataSource) -> dict[str, Any]:
    """A data source's (connection's) header."""
    return header(
        id=str(source.uuid),
        name=source.name,
        kind=DATA_SOURCE,
        created=source.created_at,
        modified=source.updated_at,
        author=None,
    )


def tag_header(org_id: int, name: str) -> dict[str, Any]:
    """A tag's header."""
    return header(id=tag_guid(org_id, name), name=name, kind=TAG, created=None, modified=None, author=None)


# ----- metadata/details ---------------------------------------------------------------------------
def viz_object(viz: Visualization, query: Query, columns: list[str]) -> dict[str, Any]:
    """One visualization inside an answer's or liveboard's sheet."""
    return {
        "header": {
            "id": str(viz.uuid),
            "name": viz.name,
            "description": viz.description or "",
            "type": "CHART" if viz.type.upper() != "TABLE" else "TABLE",
        },
        "vizContent": {
            "vizType": viz.type.upper(),
            "refAnswerBook": {"id": str(query.uuid), "name": query.name},
            "columns": [{"column": {"name": c}, "name": c} for c in columns],
        },
    }


def _sheet(visualizations: list[dict[str, Any]], sheet_type: str = "QUESTION") -> dict[str, Any]:
    return {"sheets": [{"sheetType": sheet_type, "sheetContent": {"visualizations": visualizations}}]}


def answer_details(
    query: Query, author: User | None, visualizations: list[Visualization], columns: list[str]
) -> dict[str, Any]:
    """An answer as `metadata/details` stores it: its header, SQL and sheet of visualizations."""
    return {
        "header": query_header(query, author),
        "type": ANSWER,
        "reportContent": _sheet([viz_object(v, query, columns) for v in visualizations]),
        "sqlQuery": query.sql,
    }


def liveboard_details(
    detail: DashboardDetail, author: User | None, columns: dict[int, list[str]]
) -> dict[str, Any]:
    """A liveboard: one visualization per widget; `header.resolvedObjects` holds each answer shown."""
    found = dashboard_header(detail.dashboard, author)
    shown: list[dict[str, Any]] = []
    resolved: dict[str, Any] = {}
    for placed in detail.widgets:
        viz, query = placed.visualization, placed.query
        if viz is None or query is None:
            continue
        item = viz_object(viz, query, columns.get(query.id, []))
        shown.append(item)
        answer = resolved.setdefault(
            str(query.uuid), {"header": query_header(query, query.user), "reportContent": _sheet([])}
        )
        answer["reportContent"]["sheets"][0]["sheetContent"]["visualizations"].append(item)
    found["resolvedObjects"] = resolved
    return {"header": found, "type": LIVEBOARD, "reportContent": _sheet(shown, "PINBOARD")}


def dataset_details(dataset: Dataset, author: User | None) -> dict[str, Any]:
    """A logical table with its columns."""
    return {
        "header": dataset_header(dataset, author),
        "type": dataset_subtype(dataset),
        "columns": [
            {"header": column_header(dataset, c, author), "dataType": str(c.get("type", "")).upper()}
            for c in dataset.columns or []
            if isinstance(c, dict)
        ],
        "rowCount": dataset.row_count,
    }


def data_source_details(source: DataSource, masked_url: str | None) -> dict[str, Any]:
    """A connection: its kind and address, the password masked (and no other option)."""
    return {
        "header": data_source_header(source),
        "type": source.kind.upper(),
        "dataSourceContent": {
            "configuration": {"kind": source.kind, "url": masked_url or "", "isDefault": source.is_default}
        },
    }


def tag_details(org_id: int, name: str) -> dict[str, Any]:
    """A tag."""
    return {"header": tag_header(org_id, name), "type": TAG}
