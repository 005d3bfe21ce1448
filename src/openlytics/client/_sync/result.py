# Generated from _async/result.py by `python -m openlytics.client._unasync`; edit that file instead.
"""The value a run returns: a result's metadata plus ways to get its data."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from openlytics.client import _optional
from openlytics.client._formats import format_for_path
from openlytics.client._rows import decode_rows
from openlytics.client.models import Column, Job, Result

from .http import PathOrFile, ProgressCallback
from .jobs import Results

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class QueryResult:
    """A finished run: `columns`, `row_count`, `job`, and the data as rows, Arrow, pandas or a file."""

    def __init__(self, results: Results, result: Result, job: Job | None) -> None:
        self._results = results
        self.result = result
        self.job = job
        self._rows = decode_rows(result.rows, result.columns) if result.rows is not None else None

    @property
    def id(self) -> int:
        """The stored result's id."""
        return self.result.id

    @property
    def columns(self) -> list[Column]:
        """Column names and API types, in order."""
        return self.result.columns

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return [c.name for c in self.result.columns]

    @property
    def row_count(self) -> int:
        """How many rows the result has (known without downloading them)."""
        return self.result.row_count

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts: inlined by the server, else downloaded as JSON on first use."""
        if self._rows is None:
            self._rows = self.fetch_rows()
        return self._rows

    def fetch_rows(self) -> list[dict[str, Any]]:
        """The rows as dicts, downloading them as JSON unless the server inlined them."""
        if self._rows is None:
            body = json.loads(self._results.read(self.id, "json"))
            self._rows = decode_rows(body["rows"], self.columns)
        return self._rows

    def to_arrow(self) -> pa.Table:
        """The result as a `pyarrow.Table` with the engine's types (needs `openlytics[arrow]`)."""
        _optional.pyarrow()  # fail before the download when the extra is missing
        return _optional.read_arrow_stream(self._results.read(self.id, "arrow"))

    def to_pandas(self) -> pd.DataFrame:
        """The result as a `pandas.DataFrame`, via Arrow (needs `openlytics[pandas]`)."""
        _optional.pandas()
        table = self.to_arrow()
        return table.to_pandas()

    def download(
        self,
        path_or_file: PathOrFile,
        format: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stream the data to a file; `format` defaults from the path's suffix. Returns bytes written."""
        if format is None:
            if not isinstance(path_or_file, str | os.PathLike):
                raise ValueError("pass format= when writing to a file object")
            format = format_for_path(path_or_file)
        return self._results.download(self.id, format, path_or_file, progress)

    def __repr__(self) -> str:
        job = f" job={self.job.id}" if self.job else ""
        return f"<{type(self).__name__} id={self.id} rows={self.row_count} columns={self.column_names}{job}>"
