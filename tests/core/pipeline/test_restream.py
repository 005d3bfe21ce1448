"""The restream queue on SQLite and PostgreSQL metadata: size, purge, no duplicates when concurrent."""

from __future__ import annotations

import threading

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import PermissionDeniedError
from openlytics.core.pipeline.restream import RestreamItem
from openlytics.core.principal import Principal, Role
from tests.core.pipeline.conftest import event


def items(n: int) -> list[RestreamItem]:
    return [RestreamItem(event("t", n=i), "NO_MAPPING", None, "t") for i in range(n)]


def test_restream_moves_the_original_events_back_unchanged(any_app: Openlytics) -> None:
    app = any_app
    app.pipeline_worker.stop()
    system = Principal.system(app.identity.organizations()[0].id)
    app.restream.add(system.org_id, items(3))
    count, size = app.restream.size(system)
    assert count == 3 and size > 0
    assert app.restream.start(system) == 3
    assert app.restream.size(system) == (0, 0)
    batch = app.pipeline_spool.claim(system.org_id)
    assert batch is not None and batch.events == [event("t", n=i) for i in range(3)]
    app.pipeline_spool.ack(batch)
    assert app.restream.purge(system) == 0


def test_concurrent_restreams_send_each_event_once(any_app: Openlytics) -> None:
    app = any_app
    app.pipeline_worker.stop()
    system = Principal.system(app.identity.organizations()[0].id)
    app.restream.add(system.org_id, items(12_000))  # more than one chunk
    sent: list[int] = []
    errors: list[BaseException] = []

    def restream() -> None:
        try:
            sent.append(app.restream.restream(system))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=restream) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(sent) == 12_000
    spooled: list[int] = []
    while (batch := app.pipeline_spool.claim(system.org_id, 100_000)) is not None:
        spooled.extend(e["n"] for e in batch.events)
        app.pipeline_spool.ack(batch)
    assert sorted(spooled) == list(range(12_000))


def test_purge_and_permissions(app: Openlytics, system: Principal) -> None:
    app.restream.add(system.org_id, items(4))
    viewer = Principal(org_id=system.org_id, user_id=None, role=Role.VIEWER, credential="user_key")
    assert app.restream.size(viewer)[0] == 4
    with pytest.raises(PermissionDeniedError):
        app.restream.restream(viewer)
    with pytest.raises(PermissionDeniedError):
        app.restream.purge(viewer)
    assert app.restream.size(Principal.system(system.org_id + 1)) == (0, 0)
    assert app.restream.purge(system) == 4
    assert app.restream.size(system) == (0, 0)
