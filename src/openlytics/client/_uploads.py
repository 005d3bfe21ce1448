"""Request bodies for dataset writes: files streamed from disk, and tabular data as Arrow IPC streams.

Both are re-iterable objects rather than generators, so a retried request sends its body again from
the start. pandas and pyarrow are imported only when tabular data is actually sent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import _optional

# Big enough that per-chunk overhead (a syscall, an HTTP frame, a progress call) is negligible, small
# enough that progress moves smoothly and memory stays flat.
UPLOAD_CHUNK = 1024 * 1024
# Rows per Arrow batch sent: the server converts and loads batch by batch.
BATCH_ROWS = 65_536

RequestBody = bytes | Iterable[bytes] | AsyncIterable[bytes]
Progress = Callable[[int, int | None], None]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
CONTENT_TYPES = {
    ".csv": "text/csv",
    ".txt": "text/csv",
    ".tsv": "text/csv",
    ".gz": "application/gzip",
    ".parquet": "application/vnd.apache.parquet",
    ".pq": "application/vnd.apache.parquet",
    ".arrow": ARROW_STREAM,
    ".arrows": ARROW_STREAM,
}


def content_type_of(path: str | os.PathLike[str]) -> str:
    """The Content-Type a data file is sent with, from its suffix (`.csv`, `.csv.gz`, `.parquet`)."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise ValueError(f"cannot tell the format of {os.fspath(path)}: use .csv(.gz), .parquet or .arrow")
    return CONTENT_TYPES[suffix]


def is_path(data: Any) -> bool:
    """Whether `data` names a file (a str or a path-like) rather than holding rows."""
    return isinstance(data, str | os.PathLike)


def is_tabular(data: Any) -> bool:
    """Whether `data` is a pandas DataFrame, an Arrow table or a RecordBatchReader.

    Looked up in `sys.modules`: if pandas (or pyarrow) was never imported, `data` cannot be one of its
    objects, and the light install never imports them here.
    """
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return True
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(data, pa.Table | pa.RecordBatchReader)


def to_arrow(data: Any) -> Any:
    """A DataFrame, Arrow table or RecordBatchReader as an Arrow table or reader (index dropped)."""
    pa = _optional.pyarrow()
    if isinstance(data, pa.Table | pa.RecordBatchReader):
        return data
    _optional.pandas()
    try:
        return pa.Table.from_pandas(data, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Object columns mixing types (1 and "a"): send them as text; the server types them.
        mixed = [c for c in data.columns if data[c].dtype == object]
        fixed = data.copy()
        for column in mixed:
            fixed[column] = data[column].map(lambda v: v if v is None or v != v else str(v))
        return pa.Table.from_pandas(fixed, preserve_index=False)


class FileChunks:
    """A file read chunk by chunk each time the body is sent, reporting `progress(sent, total)`."""

    def __init__(self, path: str | os.PathLike[str], progress: Progress | None = None) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.progress = progress

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        if self.progress is not None:
            self.progress(0, self.size)
        with self.path.open("rb") as fh:
            while chunk := fh.read(UPLOAD_CHUNK):
                yield chunk
                sent += len(chunk)
                if self.progress is not None:
                    self.progress(sent, self.size)


class AsyncFileChunks:
    """`FileChunks` for the async client (the reads themselves are short blocking calls)."""

    def __init__(self, path: str | os.PathLike[str], progress: Progress | None = None) -> None:
        self._chunks = FileChunks(path, progress)
        self.size = self._chunks.size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class ArrowChunks:
    """Arrow data as an IPC stream, serialized batch by batch while it is sent (no JSON, no copy of
    the whole stream in memory); `progress(sent, None)` after each chunk."""

    def __init__(self, data: Any, progress: Progress | None = None) -> None:
        self.data = to_arrow(data)
        self.progress = progress

    def __iter__(self) -> Iterator[bytes]:
        pa = _optional.pyarrow()
        sink = _Chunks()
        sent = 0
        batches = self.data.to_batches(BATCH_ROWS) if isinstance(self.data, pa.Table) else self.data
        with pa.ipc.new_stream(sink, self.data.schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                if sink.size >= UPLOAD_CHUNK:
                    chunk = sink.drain()
                    yield chunk
                    sent += len(chunk)
                    if self.progress is not None:
                        self.progress(sent, None)
        chunk = sink.drain()
        yield chunk
        if self.progress is not None:
            self.progress(sent + len(chunk), sent + len(chunk))


class AsyncArrowChunks:
    """`ArrowChunks` for the async client."""

    def __init__(self, data: Any, progress: Progress | None = None) -> None:
        self._chunks = ArrowChunks(data, progress)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class _Chunks:
    """A write-only file collecting what pyarrow writes until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        part = bytes(data)
        self._parts.append(part)
        self.size += len(part)
        return len(part)

    def flush(self) -> None:
        """Nothing is buffered beyond the parts."""

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data
