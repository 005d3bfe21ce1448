"""The JSON query endpoint: headers, or one pipeline stage compiled by the core's structured queries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.serenytics import wire
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.errors import functional_error
from openlytics.dialects.serenytics.routes.common import Body

router = APIRouter()

EMPTY = "Storage source is empty"


@router.post("/formatted_data/{uuid}")
def get_data(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST formatted_data/<uuid> (`get_data`, `get_nb_rows`, `get_columns`)."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    if not dataset.columns:
        return functional_error(EMPTY)
    if body.get("only_headers"):
        return {"status": "ok", "columns_titles": wire.column_titles(dataset.columns)}
    pipeline = body.get("data_processing_pipeline")
    if not isinstance(pipeline, list) or len(pipeline) != 1 or not isinstance(pipeline[0], dict):
        raise InvalidInputError("data_processing_pipeline", "a list with exactly one stage")
    order = body.get("order", "row_by_row")
    if order not in ("row_by_row", "column_by_column"):
        raise InvalidInputError("order", "row_by_row or column_by_column")
    measures = _measures(dataset.options or {})
    stage = _named_measures(pipeline[0])
    answer = app.structured_queries.run(
        caller, dataset, stage, measures={m["name"]: m["formula"] for m in measures.values()}, order=order
    )
    return {
        "status": "ok",
        "columns_titles": [{"name": name, "type": wire.column_type(kind)} for name, kind in answer.columns],
        "data": answer.data,
    }


def _measures(options: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Measures of `jsonContent.measures`: uuid -> {name, formula}."""
    raw = ((options.get(wire.DATASET_CONFIG_KEY) or {}).get("measures")) or {}
    found: dict[str, dict[str, str]] = {}
    if isinstance(raw, dict):
        for measure_id, measure in raw.items():
            formula = (
                ((measure or {}).get("data") or {}).get("formula") if isinstance(measure, dict) else None
            )
            if isinstance(formula, str) and isinstance(measure.get("name"), str):
                found[str(measure_id)] = {"name": measure["name"], "formula": formula}
    return found


def _named_measures(stage: dict[str, Any]) -> dict[str, Any]:
    """The client tags items naming a measure with its `measureUuid`; the core knows measures by name."""
    stage = dict(stage)
    for key in ("select", "where", "group_by", "order_by"):
        if isinstance(stage.get(key), list):
            stage[key] = [
                {k: v for k, v in i.items() if k != "measureUuid"} if isinstance(i, dict) else i
                for i in stage[key]
            ]
    return stage
