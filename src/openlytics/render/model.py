"""What a renderer is given: plain, frozen views of visualizations, widgets and dashboards.

The server fills these in from its own objects; nothing here knows where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NUMERIC_TYPES = frozenset({"integer", "float", "decimal"})
TEMPORAL_TYPES = frozenset({"date", "datetime"})


@dataclass(frozen=True)
class Column:
    """A result column: its name and logical type ("integer", "date", ...; unknown types read as string)."""

    name: str
    type: str

    @property
    def is_numeric(self) -> bool:
        """Whether the column holds numbers."""
        return self.type in NUMERIC_TYPES

    @property
    def is_temporal(self) -> bool:
        """Whether the column holds dates or date-times."""
        return self.type in TEMPORAL_TYPES


@dataclass(frozen=True)
class VisualizationView:
    """One visualization with its data: type TABLE, CHART, PIVOT or COUNTER and its saved options."""

    type: str
    name: str
    options: dict[str, Any]
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    # The query's parameters with the values the rows were computed with: (title, value) as text.
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        """The type in upper case."""
        return self.type.upper()

    @property
    def column_names(self) -> list[str]:
        """The names of the columns, in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        """The column called `name`, if there is one."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Position:
    """A place on the dashboard grid: 6 columns wide, rows of about 50 pixels."""

    col: int
    row: int
    size_x: int
    size_y: int


@dataclass(frozen=True)
class WidgetView:
    """A dashboard widget: a visualization, or markdown text when `visualization` is None.

    `key` identifies the visualization to callers that choose which ones to draw ("" for text).
    """

    position: Position
    text: str = ""
    visualization: VisualizationView | None = None
    key: str = ""


@dataclass(frozen=True)
class DashboardView:
    """A dashboard: its name and its widgets; pages may add the owner's CSS and header HTML.

    `organization` is the owning organization's name, for documents that show whose they are.
    """

    name: str
    widgets: tuple[WidgetView, ...]
    custom_css: str = ""
    header_html: str = ""
    organization: str = ""
