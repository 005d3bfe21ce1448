"""Dataset exports: a short-lived signed URL the client downloads with a bare GET (CSV, CSV.gz, Parquet).

`auto` is answered with Parquet: the vendor's other "auto" choice, a pandas pickle, is never made here.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Principal
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.routes.common import Body
from openlytics.results.formats import MEDIA_TYPES, stream_result

router = APIRouter()  # under /api
signed_router = APIRouter()  # the download URLs: the signature authorises

FORMATS = {"auto": "parquet", "csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet"}


@router.post("/data_source/{uuid}/export_source_data")
def export_source_data(uuid: str, request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST export_source_data (`get_dataset`, `get_dataset_as_dataframe`) -> a signed `csv_url`."""
    app = app_of(request)
    dataset = app.datasets.get(caller, uuid)
    if body.get("send_email"):
        raise InvalidInputError("send_email", "exports are downloaded, not e-mailed")
    requested = body.get("export_format", "csv.gz")
    if requested not in FORMATS:
        raise InvalidInputError("export_format", f"one of {', '.join(FORMATS)}")
    separator = body.get("csv_separator") or ","
    if not isinstance(separator, str) or len(separator) != 1:
        raise InvalidInputError("csv_separator", "one character")
    query = {"format": FORMATS[requested], "sep": separator, "quotes": "1" if body.get("add_quotes") else "0"}
    path = f"/serenytics/_download/{caller.org_id}/{dataset.uuid}"
    expires, signature = app.download_signer.sign(_subject(path, query))
    base = (app.settings.public_url or str(request.base_url)).rstrip("/")
    url = f"{base}{path}?{urlencode({**query, 'expires': expires, 'sig': signature})}"
    return {"status": "ok", "csv_url": url, "output_file_format": FORMATS[requested]}


@signed_router.get("/_download/{org_id}/{dataset_uuid}")
async def download(
    org_id: int,
    dataset_uuid: str,
    request: Request,
    format: str = "csv",
    sep: str = ",",
    quotes: str = "0",
    expires: str = "",
    sig: str = "",
) -> StreamingResponse:
    """The dataset's current rows, streamed; no API key (the signature is the authorisation)."""
    app = app_of(request)
    path = f"/serenytics/_download/{org_id}/{dataset_uuid}"
    app.download_signer.check(_subject(path, {"format": format, "sep": sep, "quotes": quotes}), expires, sig)
    reader = await run_in_threadpool(_open, app, org_id, dataset_uuid)
    name = f"{dataset_uuid}.{format}"
    if format == "parquet":
        chunks = stream_result(reader, "parquet")
        media = MEDIA_TYPES["parquet"]
    else:
        chunks = _csv(reader, sep, quote_all=quotes == "1")
        media = MEDIA_TYPES["csv"]
        if format == "csv.gz":
            chunks, media = _gzip(chunks), "application/gzip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(_closing(chunks, reader), media_type=media, headers=headers)


def _subject(path: str, query: dict[str, str]) -> str:
    return path + "?" + urlencode(sorted(query.items()))


def _open(app: Any, org_id: int, dataset_uuid: str) -> pa.RecordBatchReader:
    # The signature was issued to a reader of this dataset in this organization.
    principal = Principal.system(org_id)
    dataset = app.datasets.get(principal, dataset_uuid)
    return app.datasets.read(principal, dataset.id)


def _csv(reader: pa.RecordBatchReader, separator: str, *, quote_all: bool) -> Iterator[bytes]:
    buffer = io.BytesIO()
    options = pacsv.WriteOptions(delimiter=separator, quoting_style="all_valid" if quote_all else "needed")
    with pacsv.CSVWriter(buffer, reader.schema, write_options=options) as writer:
        for batch in reader:
            writer.write_batch(batch)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():  # the header of an empty dataset
        yield buffer.getvalue()


def _gzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip container
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


def _closing(chunks: Iterator[bytes], reader: pa.RecordBatchReader) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        reader.close()
