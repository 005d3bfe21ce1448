"""`AsyncClient` mirrors `Client`: the same flows, awaited."""

from __future__ import annotations

import asyncio
import datetime as dt

import pyarrow as pa
import pytest

from openlytics.client import (
    AsyncClient,
    AsyncQueryResult,
    NotFoundError,
    QueryFailedError,
    QueryTimeoutError,
    ResultNotLoadedError,
)
from tests.client.conftest import SdkOrg
from tests.client.test_runs import MEDIUM_ROWS, MEDIUM_SQL, SLOW_SQL
from tests.warehouse_sql import numbered


def test_async_run_and_wait_returns_rows_arrow_and_pandas(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["editor"]) as client:
            result = await client.run_sql("SELECT 42 AS answer, DATE '2024-01-02' AS d")
            assert isinstance(result, AsyncQueryResult)
            assert result.rows == [{"answer": 42, "d": dt.date(2024, 1, 2)}]
            table = await result.to_arrow()
            assert table.schema.field("d").type == pa.date32()
            frame = await result.to_pandas()
            assert frame["answer"].tolist() == [42]

    asyncio.run(main())


def test_async_rows_of_a_large_result_must_be_fetched(org: SdkOrg, tmp_path) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["editor"]) as client:
            result = await client.run_sql(numbered(3000, "n AS i"))
            with pytest.raises(ResultNotLoadedError, match="fetch_rows"):
                _ = result.rows
            rows = await result.fetch_rows()
            assert len(rows) == 3000 and result.rows is rows
            size = await result.download(tmp_path / "r.csv")
            assert size == (tmp_path / "r.csv").stat().st_size

    asyncio.run(main())


def test_async_polling_timeouts_and_errors_match_the_sync_client(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["editor"]) as client:
            client.max_server_wait = 0
            polled = await client.run_sql(MEDIUM_SQL)
            assert polled.rows == [{"n": MEDIUM_ROWS}]
            with pytest.raises(QueryTimeoutError) as caught:
                await client.run_sql(SLOW_SQL + " -- async", wait=0.3)
            assert caught.value.job_id is not None
            assert (await client.jobs.cancel(caught.value.job_id)).status_name == "CANCELLED"
            with pytest.raises(QueryFailedError):
                await client.run_sql("SELECT * FROM nowhere")
            with pytest.raises(NotFoundError):
                await client.queries.get(10**9)

    asyncio.run(main())


def test_async_resources_list_and_create(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["editor"]) as client:
            query = await client.queries.create("async", "SELECT 1 AS one", tags=["async"])
            ids = [q.id async for q in client.queries.list(tag="async")]
            assert ids == [query.id]
            result = await client.queries.run(query.id)
            assert result.rows == [{"one": 1}]
            sources = [s async for s in client.data_sources.list()]
            assert sources[0].kind == "warehouse"
            me = await client.me()
            assert me.user is not None and me.user.role == "editor"

    asyncio.run(main())
