"""Views to render in tests: ten days of sales in two regions, and helpers to check the images."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from openlytics.render.model import Column, DashboardView, Position, VisualizationView, WidgetView

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

COLUMNS = (
    Column("day", "date"),
    Column("region", "string"),
    Column("sales", "integer"),
    Column("profit", "decimal"),
    Column("orders", "integer"),
)
ROWS = tuple(
    {
        "day": f"2024-01-{day:02d}",
        "region": region,
        "sales": day * (3 if region == "north" else 2),
        "profit": f"{day * 1.25:.2f}",  # decimals arrive as text
        "orders": day + (5 if region == "north" else 0),
    }
    for day in range(1, 11)
    for region in ("north", "south")
)


def view(
    kind: str, name: str = "Sales", data: tuple[dict[str, Any], ...] = ROWS, **options: Any
) -> VisualizationView:
    """A visualization of `kind` over the sample data (or other rows of the same columns)."""
    return VisualizationView(type=kind, name=name, options=options, columns=COLUMNS, rows=data)


def chart(series_type: str, mapping: dict[str, str], **options: Any) -> VisualizationView:
    """A CHART of `series_type` with this column mapping."""
    return view("CHART", globalSeriesType=series_type, columnMapping=mapping, **options)


def sample_dashboard() -> DashboardView:
    """A text widget, a counter, two charts and a table, as a client would lay them out."""
    return DashboardView(
        name="Sales overview",
        widgets=(
            WidgetView(
                Position(col=0, row=0, size_x=6, size_y=2), text="# Sales\nDaily **sales** by region."
            ),
            WidgetView(Position(col=0, row=2, size_x=2, size_y=5), visualization=view("COUNTER", "Best day")),
            WidgetView(
                Position(col=2, row=2, size_x=4, size_y=8),
                visualization=chart("line", {"day": "x", "sales": "y", "region": "series"}),
            ),
            WidgetView(
                Position(col=0, row=10, size_x=3, size_y=8),
                visualization=chart("column", {"day": "x", "sales": "y", "region": "series"}),
            ),
            WidgetView(Position(col=3, row=10, size_x=3, size_y=8), visualization=view("TABLE", "All rows")),
        ),
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature and every chunk's checksum."""
    assert data[:8] == PNG_MAGIC, data[:8]
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind_and_body = data[offset + 4 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind_and_body) == crc, f"bad checksum in chunk {kind_and_body[:4]!r}"
        kinds.append(kind_and_body[:4])
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds, kinds
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def is_pdf(data: bytes) -> bool:
    """Whether the bytes look like a complete PDF document."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
