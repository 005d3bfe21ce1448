"""Kind handlers: one module per kind of object a document can hold."""

from __future__ import annotations

from openlytics.core.assets.kinds.alerts import AlertKind
from openlytics.core.assets.kinds.base import AssetKind
from openlytics.core.assets.kinds.code_modules import CodeModuleKind
from openlytics.core.assets.kinds.dashboards import DashboardKind
from openlytics.core.assets.kinds.data_sources import DataSourceKind
from openlytics.core.assets.kinds.datasets import DatasetKind
from openlytics.core.assets.kinds.event_types import EventTypeKind
from openlytics.core.assets.kinds.pipeline_inputs import PipelineInputKind
from openlytics.core.assets.kinds.queries import QueryKind
from openlytics.core.assets.kinds.schedules import ScheduleKind
from openlytics.core.assets.kinds.scripts import ScriptKind


def default_kinds() -> dict[str, AssetKind]:
    """A handler for every kind of document, by document key."""
    handlers: list[AssetKind] = [
        DataSourceKind(),
        CodeModuleKind(),
        ScriptKind(),
        QueryKind(),
        DatasetKind(),
        PipelineInputKind(),
        EventTypeKind(),
        DashboardKind(),
        AlertKind(),
        ScheduleKind(),
    ]
    return {handler.name: handler for handler in handlers}
