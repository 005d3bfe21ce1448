"""Data answers (`searchdata`, `pinboarddata`, V2 `searchdata` and `.../data`) as ThoughtSpot shapes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openlytics.core.errors import InvalidInputError

FORMATS = ("COMPACT", "FULL")


@dataclass(frozen=True)
class Paging:
    """Which rows to answer: `size` rows (-1 = all) from `offset`."""

    offset: int
    size: int

    @classmethod
    def v1(cls, batch_size: int, page_number: int, offset: int) -> Paging:
        """V1's `batchsize`, `pagenumber` (1-based, wins over `offset`) and `offset` (-1 = 0)."""
        if batch_size > 0 and page_number > 0:
            return cls((page_number - 1) * batch_size, batch_size)
        return cls(max(offset, 0), batch_size if batch_size > 0 else -1)

    def cut(self, rows: list[Any]) -> list[Any]:
        """The rows of the page."""
        return rows[self.offset :] if self.size < 0 else rows[self.offset : self.offset + self.size]


def format_type(value: str | None, field: str = "formattype") -> str:
    """COMPACT (rows as lists, the default) or FULL (rows as objects)."""
    name = (value or "COMPACT").strip().upper()
    if name not in FORMATS:
        raise InvalidInputError(field, "COMPACT or FULL")
    return name


def data_v1(columns: list[str], rows: list[list[Any]], paging: Paging, fmt: str) -> dict[str, Any]:
    """`{"columnNames", "data", "rowCount", "totalRowCount", "samplingRatio", "pageSize", "offset"}`."""
    page = paging.cut(rows)
    data: list[Any] = page if fmt == "COMPACT" else [dict(zip(columns, r, strict=False)) for r in page]
    return {
        "columnNames": columns,
        "data": data,
        "rowCount": len(page),
        "totalRowCount": len(rows),
        "samplingRatio": 1.0,
        "pageSize": paging.size if paging.size > 0 else len(page),
        "offset": paging.offset,
    }


def data_v2(columns: list[str], rows: list[list[Any]], paging: Paging, fmt: str) -> dict[str, Any]:
    """V2: `{"contents": [{"column_names", "data_rows", "record_offset", "record_size",
    "returned_data_row_count", "available_data_row_count", "sampling_ratio"}]}`."""
    page = paging.cut(rows)
    data: list[Any] = page if fmt == "COMPACT" else [dict(zip(columns, r, strict=False)) for r in page]
    return {
        "contents": [
            {
                "column_names": columns,
                "data_rows": data,
                "record_offset": paging.offset,
                "record_size": paging.size,
                "returned_data_row_count": len(page),
                "available_data_row_count": len(rows),
                "sampling_ratio": 1.0,
            }
        ]
    }
