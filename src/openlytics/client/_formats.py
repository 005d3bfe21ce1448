"""Result data formats and how file names ask for them."""

from __future__ import annotations

import os
from pathlib import Path

DATA_FORMATS = ("json", "csv", "parquet", "arrow")

FORMATS_BY_SUFFIX = {
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".ipc": "arrow",
}


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The data format a file name asks for, from its suffix (`.csv`, `.parquet`, `.arrow`, `.json`)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS_BY_SUFFIX:
        raise ValueError(f"cannot tell the format of {path!s}; pass format= (json, csv, parquet, arrow)")
    return FORMATS_BY_SUFFIX[suffix]
