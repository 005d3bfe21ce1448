"""Kind handlers: one module per kind of object a document can hold."""

from __future__ import annotations

from openlytics.core.assets.kinds.base import AssetKind
from openlytics.core.assets.kinds.dashboards import DashboardKind
from openlytics.core.assets.kinds.data_sources import DataSourceKind
from openlytics.core.assets.kinds.queries import QueryKind


def default_kinds() -> dict[str, AssetKind]:
    """A handler for every kind of document, by document key."""
    handlers: list[AssetKind] = [DataSourceKind(), QueryKind(), DashboardKind()]
    return {handler.name: handler for handler in handlers}
