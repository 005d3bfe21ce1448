"""Pipeline notifications: aggregation within a minute, `since`, custom publications."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, PermissionDeniedError
from openlytics.core.principal import Principal, Role
from openlytics.store.types import utcnow


def test_the_same_notification_within_a_minute_is_aggregated(app: Openlytics, system: Principal) -> None:
    before = utcnow() - timedelta(seconds=1)
    notes = app.pipeline_notifications
    notes.notify(system.org_id, "LOAD_ERROR", "error", "cannot load t", params={"count": 1})
    notes.notify(system.org_id, "LOAD_ERROR", "error", "cannot load t", params={"count": 2})
    notes.notify(system.org_id, "LOAD_ERROR", "error", "cannot load u")
    listed = notes.since(system, before)
    assert [(n.message, n.aggregated_count) for n in listed] == [("cannot load t", 2), ("cannot load u", 1)]
    assert listed[0].params == {"count": 2}
    assert notes.since(system, utcnow() + timedelta(seconds=5)) == []
    assert notes.since(Principal.system(system.org_id + 1), before) == []
    with pytest.raises(InvalidInputError):
        notes.notify(system.org_id, "X", "fatal", "m")


def test_publish_checks_level_and_role(app: Openlytics, system: Principal) -> None:
    before = utcnow() - timedelta(seconds=1)
    published = app.pipeline_notifications.publish(system, "Warning", "disk almost full", [1, 2])
    assert (
        published.severity == "warning"
        and published.type == "CUSTOM"
        and published.params == {"data": [1, 2]}
    )
    assert [n.id for n in app.pipeline_notifications.since(system, before)] == [published.id]
    with pytest.raises(InvalidInputError):
        app.pipeline_notifications.publish(system, "loud", "x", {})
    viewer = Principal(org_id=system.org_id, user_id=None, role=Role.VIEWER, credential="user_key")
    with pytest.raises(PermissionDeniedError):
        app.pipeline_notifications.publish(viewer, "info", "x", {})
