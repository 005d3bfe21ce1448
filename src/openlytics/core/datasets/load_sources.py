"""Where the data of a dataset write comes from: rows, arrays, a DataFrame, Arrow, a CSV or Parquet file.

Files are read by the warehouse engine's own readers (engine speed, flat memory); everything else
becomes an Arrow stream cast to the dataset's types on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from openlytics.core.datasets.conversion import arrays_to_table, normalize_table, rows_to_table
from openlytics.core.errors import InvalidInputError

SourceKind = Literal["rows", "arrays", "arrow", "csv", "parquet"]


@dataclass(frozen=True)
class LoadSource:
    """The data of one write; build it with the `from_*` constructors."""

    kind: SourceKind
    rows: Sequence[Any] | None = None
    columns: Sequence[str] | None = None
    arrow: pa.Table | pa.RecordBatchReader | None = None
    path: Path | None = None
    separator: str = ","
    gzip: bool | None = None  # None: by the file name (`.gz`)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> LoadSource:
        """Rows as dicts of column -> value."""
        if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
            raise InvalidInputError("rows", "a list of objects")
        return cls("rows", rows=rows)

    @classmethod
    def from_arrays(cls, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> LoadSource:
        """Column names and rows as arrays of values in that order."""
        if not isinstance(columns, Sequence) or isinstance(columns, str):
            raise InvalidInputError("columns", "a list of column names")
        if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
            raise InvalidInputError("rows", "a list of arrays")
        return cls("arrays", rows=rows, columns=list(columns))

    @classmethod
    def from_dataframe(cls, frame: Any) -> LoadSource:
        """A pandas DataFrame (its index is not loaded)."""
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed-type object columns: let our own inference have them, column by column.
            columns = [str(c) for c in frame.columns]
            rows = frame.astype(object).where(frame.notna(), None).values.tolist()
            table = arrays_to_table(columns, rows, None)
        return cls("arrow", arrow=table)

    @classmethod
    def from_arrow(cls, data: pa.Table | pa.RecordBatchReader) -> LoadSource:
        """An Arrow table, or a stream of record batches (read once)."""
        if not isinstance(data, pa.Table | pa.RecordBatchReader):
            raise InvalidInputError("data", "an Arrow table or RecordBatchReader")
        return cls("arrow", arrow=data)

    @classmethod
    def from_csv(cls, path: Path | str, *, separator: str = ",", gzip: bool | None = None) -> LoadSource:
        """A UTF-8 CSV file with a header line; gzip-compressed when its name ends in `.gz`."""
        if not isinstance(separator, str) or len(separator) != 1:
            raise InvalidInputError("separator", "one character")
        return cls("csv", path=_existing(path), separator=separator, gzip=gzip)

    @classmethod
    def from_parquet(cls, path: Path | str) -> LoadSource:
        """A Parquet file."""
        return cls("parquet", path=_existing(path))

    @property
    def is_file(self) -> bool:
        """Whether the engine reads this source from a file itself."""
        return self.kind in ("csv", "parquet")

    def to_reader(
        self, schema: pa.Schema | None, forced: Mapping[str, pa.DataType]
    ) -> pa.Table | pa.RecordBatchReader:
        """The data as Arrow: typed by `schema` when given, else inferred (with `forced` types)."""
        if self.kind == "rows":
            assert self.rows is not None
            table = rows_to_table(self.rows, schema)
        elif self.kind == "arrays":
            assert self.rows is not None and self.columns is not None
            table = arrays_to_table(self.columns, self.rows, schema)
        elif self.kind == "arrow":
            assert self.arrow is not None
            if isinstance(self.arrow, pa.RecordBatchReader):
                return self.arrow
            table = self.arrow
        else:
            raise InvalidInputError("source", f"a {self.kind} file is read by the engine")
        if schema is None:
            return normalize_table(table, forced)
        return table


def _existing(path: Path | str) -> Path:
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise InvalidInputError("path", f"no such file: {path}")
    return resolved
