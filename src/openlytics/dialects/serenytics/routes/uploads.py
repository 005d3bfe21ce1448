"""File uploads the client makes before a load or an e-mail: signed URLs to our own endpoint, or direct."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from openlytics.app import Openlytics
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.store.models import Upload

router = APIRouter()  # under /api
signed_router = APIRouter()  # the signed URLs themselves: no API key, the signature authorises

SIGNED_ROUTE = "/serenytics/_upload"
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 1024 * 1024


@router.get("/data_source/sign_s3/")
def sign_data_source_upload(request: Request, caller: Caller, s3_object_name: str = "") -> dict[str, Any]:
    """GET data_source/sign_s3/?s3_object_name=<source uuid>: a short-lived URL for the source's file."""
    app = app_of(request)
    dataset = app.datasets.get(caller, s3_object_name)
    name = f"{dataset.uuid}-{secrets.token_hex(8)}"
    signed = app.uploads.sign(
        caller, purpose="dataset", object_name=name, dataset_id=dataset.id, route=SIGNED_ROUTE
    )
    return _signed(request, app, signed.path, name)


@router.get("/sign_s3_file/")
def sign_attachment_upload(request: Request, caller: Caller) -> dict[str, Any]:
    """GET sign_s3_file/: a short-lived URL for an e-mail attachment."""
    app = app_of(request)
    name = f"attachment-{secrets.token_hex(12)}"
    signed = app.uploads.sign(caller, purpose="attachment", object_name=name, route=SIGNED_ROUTE)
    return _signed(request, app, signed.path, name)


@router.post("/data_source/{uuid}/file", status_code=201)
async def upload_data_source_file(uuid: str, request: Request, caller: Caller) -> dict[str, Any]:
    """POST data_source/<uuid>/file: the source's file, sent directly (201)."""
    app = app_of(request)
    dataset = await run_in_threadpool(app.datasets.get, caller, uuid)
    name = f"{dataset.uuid}-{secrets.token_hex(8)}"
    upload = await run_in_threadpool(
        lambda: app.uploads.reserve(caller, purpose="dataset", object_name=name, dataset_id=dataset.id)
    )
    stored = await _receive(request, app, upload)
    return {"status": "ok", "server_side_object_name": stored.object_name, "size": stored.byte_size}


@router.post("/upload_file/{object_name}", status_code=201)
async def upload_attachment(object_name: str, request: Request, caller: Caller) -> dict[str, Any]:
    """POST upload_file/<uuid>: an e-mail attachment, sent directly (201)."""
    app = app_of(request)
    upload = await run_in_threadpool(
        lambda: app.uploads.reserve(caller, purpose="attachment", object_name=object_name)
    )
    stored = await _receive(request, app, upload)
    return {"status": "ok", "server_side_object_name": stored.object_name, "size": stored.byte_size}


@signed_router.put("/_upload/{org_id}/{object_name}")
async def signed_upload(
    org_id: int, object_name: str, request: Request, expires: str = "", sig: str = ""
) -> JSONResponse:
    """PUT to a signed URL: any Content-Type; `x-amz-acl` ignored; 200."""
    app = app_of(request)
    upload = await run_in_threadpool(app.uploads.verify, org_id, object_name, expires, sig)
    stored = await _receive(request, app, upload)
    return JSONResponse({"status": "ok", "size": stored.byte_size})


async def _receive(request: Request, app: Openlytics, upload: Upload) -> Upload:
    # The body is spooled (memory up to 8 MiB, then a temp file), then stored by a worker thread.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b", dir=str(app.uploads.directory))  # noqa: SIM115
    try:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(app.uploads.store, upload, _chunks(spool))
    finally:
        spool.close()


def _chunks(stream: IO[bytes] | tempfile.SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _signed(request: Request, app: Openlytics, path: str, name: str) -> dict[str, Any]:
    base = (app.settings.public_url or str(request.base_url)).rstrip("/")
    return {"status": "ok", "signed_request": f"{base}{path}", "server_side_object_name": name}
