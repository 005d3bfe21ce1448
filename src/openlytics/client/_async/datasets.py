"""Datasets: typed tables in the warehouse — rows in, files in, data out, versions."""

from __future__ import annotations

import builtins
import datetime as dt
import decimal
import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from openlytics.client import _optional
from openlytics.client._formats import format_for_path
from openlytics.client._uploads import (
    ARROW_STREAM,
    AsyncArrowChunks,
    AsyncFileChunks,
    content_type_of,
    is_path,
    is_tabular,
)
from openlytics.client.models import Dataset, DatasetVersion, RebuildOutcome, WriteResult

from .http import AsyncHTTP, PathOrFile, ProgressCallback

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: A dataset as the SDK accepts it: its id, its UUID, or the `Dataset` itself.
DatasetRef = int | str | Dataset
#: Columns for `create`: `[{"name", "type"}]`, `[(name, type)]` or `{name: type}`.
ColumnsSpec = Sequence[Mapping[str, str]] | Sequence[tuple[str, str]] | Mapping[str, str]
#: How long (s) a load may take on the server after its body is sent, unless `timeout=` says otherwise.
LOAD_TIMEOUT = 3600.0


class AsyncDatasets:
    """`client.datasets`; write methods take rows (dicts), a DataFrame, Arrow data or a file path."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    # ----- settings ----------------------------------------------------------------------------
    async def list(self, search: str | None = None) -> AsyncIterator[Dataset]:
        """Every dataset of the organization by name (`search` matches names and descriptions)."""
        async for item in self._http.paginate("/datasets", {"q": search}):
            yield Dataset.from_json(item)

    async def get(self, dataset: DatasetRef) -> Dataset:
        """One dataset, by id or UUID."""
        ref = dataset.id if isinstance(dataset, Dataset) else dataset
        return Dataset.from_json(await self._http.request("GET", f"/datasets/{ref}"))

    async def find(self, name: str) -> Dataset | None:
        """The dataset with exactly this name, or None."""
        async for candidate in self.list(search=name):
            if candidate.name == name:
                return candidate
        return None

    async def create(
        self,
        name: str,
        columns: ColumnsSpec | None = None,
        *,
        primary_key: str | builtins.list[str] | None = None,
        description: str | None = None,
        options: dict[str, Any] | None = None,
        source_query_id: int | None = None,
    ) -> Dataset:
        """A new dataset; without `columns` its first load, append or rebuild defines them.

        `source_query_id`: the saved query `rebuild` takes the rows from (none: a custom table)."""
        fields = {
            "name": name,
            "columns": _columns(columns) if columns is not None else None,
            "primary_key": [primary_key] if isinstance(primary_key, str) else primary_key,
            "description": description,
            "options": options,
            "source_query_id": source_query_id,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        return Dataset.from_json(await self._http.request("POST", "/datasets", json=body))

    async def update(
        self,
        dataset: DatasetRef,
        *,
        name: str | None = None,
        description: str | None = None,
        options: dict[str, Any] | None = None,
        primary_key: str | builtins.list[str] | None = None,
        source_query_id: int | None = None,
        clear_source_query: bool = False,
    ) -> Dataset:
        """Rename, describe, set options, the primary key or the source query (the data is
        untouched); `clear_source_query=True` makes the dataset a custom table."""
        fields = {
            "name": name,
            "description": description,
            "options": options,
            "primary_key": [primary_key] if isinstance(primary_key, str) else primary_key,
            "source_query_id": source_query_id,
        }
        body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        if clear_source_query:
            if source_query_id is not None:
                raise ValueError("give either source_query_id or clear_source_query")
            body["source_query_id"] = None
        path = f"/datasets/{await self._id(dataset)}"
        return Dataset.from_json(await self._http.request("PATCH", path, json=body))

    async def delete(self, dataset: DatasetRef) -> None:
        """Delete a dataset with every version."""
        await self._http.request("DELETE", f"/datasets/{await self._id(dataset)}")

    # ----- rows --------------------------------------------------------------------------------
    async def append(
        self,
        dataset: DatasetRef,
        data: Any,
        *,
        columns: Sequence[str] | None = None,
        separator: str | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = LOAD_TIMEOUT,
    ) -> WriteResult:
        """Add rows: dicts (or arrays with `columns=`) as JSON; a DataFrame or Arrow data as an Arrow
        stream; a CSV, CSV.gz or Parquet file streamed from disk. Values are coerced to the types."""
        path = f"/datasets/{await self._id(dataset)}/rows"
        if is_path(data) or is_tabular(data):
            return await self._send_data("POST", path, data, {"separator": separator}, progress, timeout)
        body = _rows_body(data, columns)
        return WriteResult.from_json(await self._post_json(path, body))

    async def upsert(
        self,
        dataset: DatasetRef,
        data: Any,
        key: str | Sequence[str] | None = None,
        *,
        columns: Sequence[str] | None = None,
        separator: str | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = LOAD_TIMEOUT,
    ) -> WriteResult:
        """Insert rows, replacing those with the same `key` values (default: the primary key); data
        as in `append`."""
        keys = [key] if isinstance(key, str) else (builtins.list(key) if key is not None else None)
        dataset_id = await self._id(dataset)
        if is_path(data):
            return await self.update_from_file(
                dataset_id, data, key=keys, separator=separator, progress=progress, timeout=timeout
            )
        path = f"/datasets/{dataset_id}/upsert"
        if is_tabular(data):
            params = {"key": ",".join(keys) if keys else None}
            return await self._send_data("POST", path, data, params, progress, timeout)
        body = _rows_body(data, columns)
        if keys:
            body["key"] = keys
        return WriteResult.from_json(await self._post_json(path, body))

    async def delete_rows(
        self,
        dataset: DatasetRef,
        keys: Sequence[Any] | None = None,
        *,
        filters: Sequence[Mapping[str, Any] | tuple[str, str, Any]] | None = None,
        key: str | Sequence[str] | None = None,
        first_only: bool = False,
    ) -> WriteResult:
        """Delete rows whose `key` (default: the primary key) is one of `keys` (a value, or a list per
        row), or that match every filter (`{"name", "op", "value"}` or `(name, op, value)`)."""
        if (keys is None) == (filters is None):
            raise ValueError("give either keys or filters")
        body: dict[str, Any] = {"first_only": first_only}
        if keys is not None:
            body["keys"] = builtins.list(keys)
            if key is not None:
                body["key"] = [key] if isinstance(key, str) else builtins.list(key)
        else:
            body["filters"] = [_filter(f) for f in filters or []]
        path = f"/datasets/{await self._id(dataset)}/delete-rows"
        return WriteResult.from_json(await self._post_json(path, body))

    async def update_rows(
        self,
        dataset: DatasetRef,
        filters: Sequence[Mapping[str, Any] | tuple[str, str, Any]],
        values: Mapping[str, Any],
        first_only: bool = False,
    ) -> WriteResult:
        """Set `values` (`{"column": value}`) on the rows matching every filter (`{"name", "op",
        "value"}` or `(name, op, value)`; none: every row), only the first match with `first_only`.
        A value that does not fit its column raises ValidationError and changes nothing."""
        body = {"filters": [_filter(f) for f in filters], "values": dict(values), "first_only": first_only}
        content = json.dumps(body, default=_json_value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        path = f"/datasets/{await self._id(dataset)}/rows"
        headers = {"Content-Type": "application/json"}
        return WriteResult.from_json(
            await self._http.request("PATCH", path, content=content, headers=headers)
        )

    async def rebuild(self, dataset: DatasetRef, method: str = "reload") -> RebuildOutcome:
        """Run the dataset's source query afresh and apply its rows: `reload` (keep the column types),
        `recreate` (new schema), `append`, `update` or `updateappend` (by the primary key). A custom
        table (no source query) answers `rebuilt=False`."""
        path = f"/datasets/{await self._id(dataset)}/rebuild"
        timeout = self._longer(LOAD_TIMEOUT)
        data = await self._http.request("POST", path, json={"method": method}, timeout=timeout)
        return RebuildOutcome.from_json(data)

    # ----- whole data --------------------------------------------------------------------------
    async def reload(
        self,
        dataset: DatasetRef,
        data: Any,
        *,
        separator: str | None = None,
        force_types: Mapping[str, str] | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = LOAD_TIMEOUT,
    ) -> WriteResult:
        """Replace data and schema (a new version) with a DataFrame, Arrow data, or a CSV, CSV.gz or
        Parquet file streamed from disk; types are inferred unless forced (`{"col": "float"}`).

        `progress(bytes_sent, total)` is called as the body goes out. A value that does not fit
        raises ValidationError naming `details["row"]` and `details["column"]`; the data is unchanged.
        """
        params = {
            "separator": separator,
            "force_types": json.dumps(dict(force_types)) if force_types else None,
        }
        path = f"/datasets/{await self._id(dataset)}/data"
        return await self._send_data("PUT", path, data, params, progress, timeout)

    async def update_from_file(
        self,
        dataset: DatasetRef,
        file: str | os.PathLike[str],
        *,
        key: str | Sequence[str] | None = None,
        separator: str | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = LOAD_TIMEOUT,
    ) -> WriteResult:
        """Insert or update from a file by `key` (default: the primary key); the schema is unchanged."""
        keys = [key] if isinstance(key, str) else (builtins.list(key) if key is not None else None)
        params = {"key": ",".join(keys) if keys else None, "separator": separator}
        path = f"/datasets/{await self._id(dataset)}/data"
        return await self._send_data("PATCH", path, file, params, progress, timeout)

    async def read_arrow(
        self,
        dataset: DatasetRef,
        *,
        version: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> pa.Table:
        """The rows of the current (or a kept) version as a `pyarrow.Table` (an Arrow IPC download),
        in insertion order; `limit` and `offset` read one page."""
        _optional.pyarrow()  # fail before the download when the extra is missing
        params = {"format": "arrow", "version": version, "limit": limit, "offset": offset}
        body = await self._read(await self._id(dataset), params, progress)
        return _optional.read_arrow_stream(body)

    async def read_pandas(
        self,
        dataset: DatasetRef,
        *,
        version: int | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """The rows as a `pandas.DataFrame`, via Arrow (needs `openlytics[pandas]`)."""
        _optional.pandas()
        table = await self.read_arrow(dataset, version=version, limit=limit, progress=progress)
        return table.to_pandas()

    async def download(
        self,
        dataset: DatasetRef,
        path_or_file: PathOrFile,
        format: str | None = None,
        *,
        version: int | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stream the rows to a file as csv, parquet, arrow or json (`format` from the suffix by
        default); returns the bytes written."""
        if format is None:
            if not isinstance(path_or_file, str | os.PathLike):
                raise ValueError("pass format= when writing to a file object")
            format = format_for_path(path_or_file)
        params = {"format": format, "version": version, "limit": limit}
        path = f"/datasets/{await self._id(dataset)}/data"
        return await self._http.download(path, params, path_or_file, progress)

    # ----- versions ----------------------------------------------------------------------------
    async def versions(self, dataset: DatasetRef) -> builtins.list[DatasetVersion]:
        """Kept versions, newest first."""
        data = await self._http.request("GET", f"/datasets/{await self._id(dataset)}/versions")
        return [DatasetVersion.from_json(item) for item in data.get("items") or []]

    async def restore(self, dataset: DatasetRef, version: int) -> Dataset:
        """Make a kept version current again (as a new version)."""
        path = f"/datasets/{await self._id(dataset)}/versions/{int(version)}/restore"
        return Dataset.from_json(await self._http.request("POST", path))

    async def push_token(self, dataset: DatasetRef) -> str:
        """The dataset's push token: a credential that may only append rows to this dataset."""
        data = await self._http.request("POST", f"/datasets/{await self._id(dataset)}/push-token")
        return str(data["token"])

    # ----- helpers -----------------------------------------------------------------------------
    async def _id(self, dataset: DatasetRef) -> int:
        if isinstance(dataset, Dataset):
            return dataset.id
        if isinstance(dataset, int) or str(dataset).isdecimal():
            return int(dataset)
        return (await self.get(dataset)).id  # a UUID: the write routes take ids

    async def _post_json(self, path: str, body: Any) -> Any:
        """POST rows as JSON, dates and datetimes as ISO-8601 text (JSON has neither)."""
        content = json.dumps(
            body, default=_json_value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        return await self._http.request("POST", path, content=content, headers=headers)

    async def _send_data(
        self,
        method: str,
        path: str,
        data: Any,
        params: dict[str, Any],
        progress: ProgressCallback | None,
        timeout: float | None,
    ) -> WriteResult:
        """Send a file (streamed from disk) or tabular data (as an Arrow IPC stream) as the body."""
        content: AsyncFileChunks | AsyncArrowChunks
        if is_path(data):
            content = AsyncFileChunks(data, progress)
            headers = {"Content-Type": content_type_of(data), "Content-Length": str(content.size)}
        elif is_tabular(data):
            content = AsyncArrowChunks(data, progress)
            headers = {"Content-Type": ARROW_STREAM}
        else:
            raise TypeError(f"expected a file path, a DataFrame or Arrow data, not {type(data).__name__}")
        answer = await self._http.request(
            method, path, params=params, content=content, headers=headers, timeout=self._longer(timeout)
        )
        return WriteResult.from_json(answer)

    async def _read(
        self, dataset_id: int, params: dict[str, Any], progress: ProgressCallback | None
    ) -> bytes:
        chunks: builtins.list[bytes] = []
        async with self._http.stream(f"/datasets/{dataset_id}/data", params=params) as response:
            if progress is not None:
                progress(0, None)
            async for chunk in self._http.iter_body(response):
                chunks.append(chunk)
                if progress is not None:
                    progress(response.num_bytes_downloaded, None)
        return b"".join(chunks)

    def _longer(self, seconds: float | None) -> httpx.Timeout:
        # The answer comes once the server has loaded everything: wait for it longer than usual.
        base = self._http.timeout
        return httpx.Timeout(connect=base.connect, read=seconds, write=base.write, pool=base.pool)


def _columns(columns: ColumnsSpec) -> builtins.list[dict[str, str]]:
    if isinstance(columns, Mapping):
        return [{"name": str(name), "type": str(kind)} for name, kind in columns.items()]
    out = []
    for column in columns:
        if isinstance(column, Mapping):
            out.append({"name": str(column["name"]), "type": str(column.get("type", "string"))})
        else:
            name, kind = column
            out.append({"name": str(name), "type": str(kind)})
    return out


def _rows_body(data: Any, columns: Sequence[str] | None) -> dict[str, Any]:
    if isinstance(data, str | bytes) or not isinstance(data, Sequence):
        kind = type(data).__name__
        raise TypeError(
            f"expected rows (a list of dicts), a file path, a DataFrame or Arrow data, not {kind}"
        )
    rows = data if isinstance(data, builtins.list) else builtins.list(data)
    if columns is not None:
        return {"columns": builtins.list(columns), "rows": rows}
    return {"rows": rows}


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)  # datasets have no decimal type
    if isinstance(value, uuid.UUID):
        return str(value)
    if callable(getattr(value, "item", None)):  # NumPy scalars
        return value.item()
    raise TypeError(f"cannot send a {type(value).__name__} as a JSON value")


def _filter(condition: Mapping[str, Any] | tuple[str, str, Any]) -> dict[str, Any]:
    if isinstance(condition, Mapping):
        return dict(condition)
    name, op, value = condition
    return {"name": name, "op": op, "value": value}
