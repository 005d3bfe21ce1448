"""Rows to Arrow: `RowBatcher` turns DBAPI row tuples into record batches with a stable schema.

A driver describes each result column as a `ColumnPlan` (a declared Arrow type, or None to infer,
and a value converter); the first batch fixes the schema and later batches are converted to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from openlytics.core.errors import QueryFailedError


@dataclass(frozen=True)
class ColumnPlan:
    """How one result column becomes Arrow: a type the driver declared (None: infer), a value converter."""

    name: str
    type: pa.DataType | None = None
    convert: Callable[[Any], Any] | None = None


class RowBatcher:
    """Turns row tuples into record batches whose schema the first batch fixes for good.

    A declared type whose values do not fit in the first batch (MySQL TIME past 24 h, zero dates,
    PostgreSQL NaN numerics) falls back to string, as does an inferred column of mixed types.
    Later batches are converted to the fixed schema; a value that cannot be converted without
    loss fails the query with a message naming the column, as the schema was already sent.
    """

    def __init__(self, plans: list[ColumnPlan], batch_size: int) -> None:
        self._plans = plans
        self._batch_size = batch_size
        self._types: list[pa.DataType] = []
        self.schema = pa.schema([])

    def fix_schema(self, first_rows: list[Any]) -> None:
        """Choose every column's type from the driver's declaration and the first batch's values."""
        columns = _transpose(first_rows, len(self._plans))
        last_batch = len(first_rows) < self._batch_size
        self._types = [
            self._first_type(plan, values, last_batch)
            for plan, values in zip(self._plans, columns, strict=True)
        ]
        self.schema = pa.schema([pa.field(p.name, t) for p, t in zip(self._plans, self._types, strict=True)])

    def to_batch(self, rows: list[Any]) -> pa.RecordBatch:
        """Convert rows to a batch of `self.schema` (fixed by `fix_schema` first)."""
        columns = _transpose(rows, len(self._plans))
        arrays = []
        for plan, arrow_type, values in zip(self._plans, self._types, columns, strict=True):
            try:
                arrays.append(_to_array(plan, arrow_type, values))
            except _CONVERSION_ERRORS as exc:
                raise QueryFailedError(
                    f"column {plan.name!r}: a value does not fit the type {arrow_type} of earlier rows: {exc}"
                ) from exc
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    @staticmethod
    def _first_type(plan: ColumnPlan, values: list[Any], last_batch: bool) -> pa.DataType:
        if plan.type is not None:
            try:
                _to_array(plan, plan.type, values)
                return plan.type
            except _CONVERSION_ERRORS:
                return pa.string()
        non_null = [v for v in values if v is not None]
        if not non_null:
            # A column of only NULLs: the null type is exact when no more rows come; otherwise text
            # is the one type any later value can still be converted into.
            return pa.null() if last_batch else pa.string()
        try:
            inferred = pa.array(non_null).type
        except _CONVERSION_ERRORS:
            return pa.string()
        return pa.string() if pa.types.is_null(inferred) else inferred


_CONVERSION_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    OverflowError,
    ValueError,
    TypeError,
)


def _transpose(rows: list[Any], width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _to_array(plan: ColumnPlan, arrow_type: pa.DataType, values: list[Any]) -> pa.Array:
    declared = plan.type is not None and plan.type.equals(arrow_type)
    if declared and plan.convert is not None:
        values = [None if v is None else plan.convert(v) for v in values]
    if pa.types.is_string(arrow_type):
        return pa.array([None if v is None else _as_text(v) for v in values], pa.string())
    if declared:
        return pa.array(values, type=arrow_type)
    # An inferred type: infer again and cast safely, because `pa.array([1.5], pa.int64())` truncates silently.
    return pa.array(values).cast(arrow_type, safe=True)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
