"""The one place the async SDK talks HTTP: auth, timeouts, retries, error mapping, paging, streaming."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from openlytics.client._config import as_timeout, default_headers, resolve_api_key, resolve_base_url
from openlytics.client._errors import error_from_response, map_transport_errors
from openlytics.client._retry import RetryPolicy
from openlytics.client._uploads import RequestBody
from openlytics.client.exceptions import TransportError

JSONObject = dict[str, Any]
ProgressCallback = Callable[[int, int | None], None]
PathOrFile = str | os.PathLike[str] | IO[bytes]

PER_PAGE = 250


class AsyncHTTP:
    """An `httpx.AsyncClient` bound to one server and credential, with the SDK's policies."""

    def __init__(
        self,
        url: str | None,
        api_key: str | None,
        *,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.base_url = resolve_base_url(url)
        self.api_key = resolve_api_key(api_key)
        self.timeout = as_timeout(timeout)
        self.retry = RetryPolicy(max_retries=max_retries)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=default_headers(self.api_key),
            timeout=self.timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def build_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
        content: RequestBody | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """A request for `path` under `/api/v1`; None-valued params are left out."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return self._client.build_request(
            method,
            path,
            params=clean,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send with retries; a success response is returned, anything else raised as a typed error."""
        attempt = 0
        while True:
            try:
                with map_transport_errors(request):
                    response = await self._client.send(request, stream=stream)
            except TransportError as exc:
                delay = self.retry.delay_after_error(exc.__cause__, request.method, attempt)
                if delay is None:
                    raise
            else:
                if response.is_success:
                    return response
                delay = self.retry.delay_after_status(response, attempt)
                if delay is None:
                    with map_transport_errors(request):
                        await response.aread()
                    await response.aclose()
                    raise error_from_response(response)
                await response.aclose()
            attempt += 1
            await asyncio.sleep(delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
        content: RequestBody | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send and decode the JSON answer (None for an empty body, e.g. 204); `content` is a raw body
        (bytes, or a re-iterable of byte chunks streamed as they are produced)."""
        request = self.build_request(
            method, path, params=params, json=json, timeout=timeout, content=content, headers=headers
        )
        response = await self.send(request)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def read_bytes(self, path: str, *, params: Mapping[str, Any] | None = None) -> bytes:
        """GET `path` and return the whole body."""
        request = self.build_request("GET", path, params=params)
        response = await self.send(request, stream=True)
        try:
            with map_transport_errors(request):
                return await response.aread()
        finally:
            await response.aclose()

    async def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[JSONObject]:
        """Every item of a paged list, fetching pages as they are consumed."""
        page = 1
        while True:
            paged = {**(params or {}), "page": page, "per_page": PER_PAGE}
            body = await self.request("GET", path, params=paged)
            items = body.get("items") or []
            for item in items:
                yield item
            per_page = body.get("per_page") or PER_PAGE
            if not items or page * per_page >= (body.get("total") or 0):
                return
            page += 1

    @asynccontextmanager
    async def stream(
        self, path: str, *, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """GET `path` without reading the body; iterate it with `iter_body`."""
        request = self.build_request("GET", path, params=params)
        response = await self.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    async def iter_body(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The decoded body of a streamed response, chunk by chunk."""
        with map_transport_errors(response.request):
            async for chunk in response.aiter_bytes():
                yield chunk

    async def download(
        self,
        path: str,
        params: Mapping[str, Any],
        destination: PathOrFile,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stream `path` into a file (written beside it, renamed when complete) or a binary file object."""
        async with self.stream(path, params=params) as response:
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdecimal() else None
            if progress is not None:
                progress(0, total)
            if not isinstance(destination, str | os.PathLike):
                return await self._copy_body(response, destination, total, progress)
            target = Path(destination)
            partial = target.with_name(target.name + ".part")
            try:
                with partial.open("wb") as fh:
                    written = await self._copy_body(response, fh, total, progress)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
            return written

    async def _copy_body(
        self, response: httpx.Response, fh: IO[bytes], total: int | None, progress: ProgressCallback | None
    ) -> int:
        written = 0
        async for chunk in self.iter_body(response):
            fh.write(chunk)
            written += len(chunk)
            if progress is not None:
                progress(response.num_bytes_downloaded, total)
        return written
