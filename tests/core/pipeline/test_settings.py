"""The pipeline settings row: created once per organization, whoever asks first (both backends)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from openlytics.app import Openlytics
from openlytics.core.pipeline.settings import settings_row
from openlytics.core.principal import Principal, Role
from openlytics.store.models import PipelineSettings


def new_org_id(app: Openlytics) -> int:
    root = Principal(org_id=0, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True)
    slug = f"org-{uuid.uuid4().hex[:10]}"
    return app.identity.create_organization(root, name=slug, admin_email=f"a@{slug}.test").organization.id


def rows_of(app: Openlytics, org_id: int) -> int:
    with app.db.session() as s:
        return int(s.scalar(select(func.count()).where(PipelineSettings.org_id == org_id)) or 0)


def test_two_threads_creating_the_row_at_once_both_succeed(any_app: Openlytics) -> None:
    for _ in range(3):
        org_id = new_org_id(any_app)
        start = threading.Barrier(2)
        results: list[Any] = []

        def create(org_id: int = org_id, start: threading.Barrier = start) -> None:
            try:
                start.wait(10)
                with any_app.db.session() as s:
                    row = settings_row(s, org_id)
                    row.email_notifications = {"digestSendHour": 7}
                results.append(row.org_id)
            except Exception as exc:  # reported below
                results.append(exc)

        threads = [threading.Thread(target=create) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == [org_id, org_id]
        assert rows_of(any_app, org_id) == 1


def test_a_row_created_between_the_look_and_the_insert_is_used(any_app: Openlytics) -> None:
    """The loser of the race: its insert fails in the savepoint, and it reads the winner's row."""
    org_id = new_org_id(any_app)
    raced: list[bool] = []

    def create_elsewhere(session: Session, *_: Any) -> None:
        if raced or not any(isinstance(o, PipelineSettings) for o in session.new):
            return
        raced.append(True)

        def winner() -> None:  # another connection inserts and commits first
            with any_app.db.session() as other:
                other.add(PipelineSettings(org_id=org_id, mapping_mode="STRICT"))

        thread = threading.Thread(target=winner)
        thread.start()
        thread.join(30)

    with any_app.db.session() as s:
        event.listen(s, "before_flush", create_elsewhere)
        row = settings_row(s, org_id)
        assert raced == [True]
        assert row.mapping_mode == "STRICT"
        row.s3_retention = {"awsBucketName": "b"}
    with any_app.db.session() as s:
        stored = s.get(PipelineSettings, org_id)
        assert stored is not None and stored.mapping_mode == "STRICT"
        assert stored.s3_retention == {"awsBucketName": "b"}
    assert rows_of(any_app, org_id) == 1


def test_settings_service_writes_use_the_shared_row(any_app: Openlytics) -> None:
    org_id = new_org_id(any_app)
    principal = Principal.system(org_id)
    service = any_app.pipeline_settings
    assert service.set_email_notifications(principal, {"digestSendHour": 8})["digestSendHour"] == 8
    shown = service.set_s3_retention(
        principal, {"awsBucketName": "b", "awsAccessKeyId": "k", "awsSecretAccessKey": "s3cr3t"}
    )
    assert shown["awsSecretAccessKey"] == "**********"
    assert service.email_notifications(principal)["digestSendHour"] == 8
    assert rows_of(any_app, org_id) == 1
