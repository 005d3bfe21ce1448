"""The core services the kind handlers call: every change goes through them, so importing obeys
the same validation and permissions as any other write."""

from __future__ import annotations

from dataclasses import dataclass

from openlytics.core.alerts import AlertService
from openlytics.core.dashboards import DashboardService
from openlytics.core.datasets.service import DatasetService
from openlytics.core.governance.groups import GroupService
from openlytics.core.governance.sharing import SharingService
from openlytics.core.identity import IdentityService
from openlytics.core.pipeline.code_engine import CodeEngine
from openlytics.core.pipeline.event_types import EventTypeService
from openlytics.core.pipeline.inputs import InputService
from openlytics.core.queries import QueryService
from openlytics.core.schedules import ScheduleService
from openlytics.core.scripts import ScriptService
from openlytics.core.sources import DataSourceService
from openlytics.core.visualizations import VisualizationService
from openlytics.store.db import Database


@dataclass(frozen=True)
class AssetServices:
    """The services objects as code reads and writes through."""

    db: Database
    sources: DataSourceService
    queries: QueryService
    visualizations: VisualizationService
    dashboards: DashboardService
    datasets: DatasetService
    schedules: ScheduleService
    alerts: AlertService
    scripts: ScriptService
    identity: IdentityService
    groups: GroupService
    sharing: SharingService
    inputs: InputService
    event_types: EventTypeService
    code_engine: CodeEngine
