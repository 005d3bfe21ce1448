"""The one error of the render package: saved options that do not fit the visualization or its data."""

from __future__ import annotations


class VisualizationOptionsError(ValueError):
    """Options name a column the data does not have, or an unknown type; `field` is the option at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
