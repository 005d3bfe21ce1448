"""`client.pipeline` against a live server (SQLite and PostgreSQL metadata)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from openlytics.client import (
    AsyncClient,
    Client,
    NotFoundError,
    PermissionDeniedError,
    PipelineInput,
    ValidationError,
)
from openlytics.testing import LiveServer
from tests.client.conftest import SdkOrg
from tests.conftest import drain_pipeline

FAILS_ON_BAD = "def transform(event):\n    if event.get('bad'):\n        raise ValueError('bad event')\n    return event\n"


def settle(server: LiveServer, client: Client, org_id: int, expected: int) -> None:
    """Wait until `expected` events ended with some status."""
    deadline = time.monotonic() + 60
    while True:
        drain_pipeline(server, org_id)
        stats = client.pipeline.sample_stats()
        if sum(n for counts in stats.values() for n in counts.values()) >= expected:
            return
        assert time.monotonic() < deadline, stats
        time.sleep(0.1)


def post(server: LiveServer, webhook: PipelineInput, events: list[dict[str, Any]]) -> None:
    answer = httpx.post(f"{server.url}/alooma/inputs/rest/{webhook.token}", json=events, timeout=60)
    assert answer.status_code == 200, answer.text


def test_the_pipeline_through_the_sdk(server: LiveServer, org: SdkOrg, new_org: Any, tmp_path: Path) -> None:
    pipeline = org.admin.pipeline
    webhook = pipeline.inputs.create("clicks")
    assert isinstance(webhook, PipelineInput) and webhook.type == "REST" and webhook.token
    assert [i.name for i in org.viewer.pipeline.inputs.list()] == ["clicks"]
    assert org.viewer.pipeline.inputs.find("clicks").id == webhook.id

    pipeline.code.set(FAILS_ON_BAD)
    assert pipeline.code.test({"bad": True}).error is not None
    assert pipeline.code.test({"n": 1}, "def transform(e):\n    e['x'] = 1\n    return e").result == {
        "n": 1,
        "x": 1,
    }
    with pytest.raises(ValidationError, match="line"):
        pipeline.code.set("def transform(event):\n    return (\n")
    with pytest.raises(PermissionDeniedError):
        org.viewer.pipeline.code.set("def transform(e):\n    return e\n")

    post(server, webhook, [{"n": 1}, {"n": 2, "bad": True}])
    settle(server, org.viewer, new_org.id, 2)
    assert org.viewer.pipeline.restream_queue().events == 1
    failed = org.viewer.pipeline.samples(status="TRANSFORM_ERROR")
    assert [s.event["n"] for s in failed] == [2] and failed[0].event_type == "clicks"
    assert org.viewer.pipeline.sample_stats() == {"clicks": {"TRANSFORM_ERROR": 1, "VALID": 1}}
    assert "VALID" in org.viewer.pipeline.status_codes()

    assert pipeline.code.reset().name == "main"
    assert pipeline.restream() == 1
    settle(server, org.viewer, new_org.id, 3)
    assert pipeline.restream_queue().events == 0
    clicks = org.viewer.pipeline.event_types.get("clicks")
    assert clicks.state == "MAPPED" and "n" in clicks.field_names
    assert [t.name for t in org.viewer.pipeline.event_types.list()] == ["clicks"]
    assert clicks.table_name in {t.name for t in org.viewer.pipeline.tables()}
    assert org.viewer.datasets.find(str(clicks.table_name)).row_count == 2  # type: ignore[union-attr]

    metrics = org.viewer.pipeline.metrics(["INCOMING_EVENTS", "ERROR_EVENTS"], minutes=5)
    assert metrics.total("INCOMING_EVENTS") == 3 and metrics.total("ERROR_EVENTS") == 1
    frame = org.viewer.pipeline.metrics_frame(["INCOMING_EVENTS", "LOADED_EVENTS_RATE"], minutes=5)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == [
        "INCOMING_EVENTS",
        "LOADED_EVENTS_RATE",
    ]
    assert len(frame) == 5 and frame["INCOMING_EVENTS"].sum() == 3
    notes = org.viewer.pipeline.notifications()
    assert any(n.type == "TRANSFORM_ERROR" for n in notes)

    assert org.viewer.pipeline.mapping_mode() == "AUTO_MAP"
    with pytest.raises(ValidationError):
        pipeline.set_mapping_mode("SOMETIMES")
    with pytest.raises(NotFoundError):
        org.viewer.pipeline.event_types.get("nope")

    assert pipeline.code.set_secrets(token="t0ken") == ["token"]
    assert org.viewer.pipeline.code.secrets() == ["token"]
    pipeline.code.delete_secret("token")

    folder = server.settings.data_dir.parent / f"sdk_drop_{new_org.id}"
    folder.mkdir(exist_ok=True)
    files = pipeline.inputs.create("uploads", "FILE", {"path": str(folder)})
    data = tmp_path / "people.csv"
    data.write_text("id,name\n1,ada\n2,grace\n")
    seen: list[tuple[int, int | None]] = []
    assert pipeline.inputs.upload(files, data, progress=lambda done, total: seen.append((done, total))) == 2
    assert seen[-1] == (data.stat().st_size, data.stat().st_size)
    assert pipeline.inputs.pause(files).paused is True
    assert pipeline.inputs.resume(files.id).paused is False
    pipeline.inputs.delete(files)
    with pytest.raises(NotFoundError):
        pipeline.inputs.get(files)


def test_the_async_pipeline_client(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["admin"]) as client:
            created = await client.pipeline.inputs.create("async_hook")
            assert [i.id async for i in client.pipeline.inputs.list()] == [created.id]
            assert (await client.pipeline.code.get()).is_default
            assert (await client.pipeline.restream_queue()).events == 0
            assert (await client.pipeline.output()).is_warehouse

    asyncio.run(main())
