"""Pipeline inputs: the webhook, FILE inputs, pause/sleep, vendor inputs, isolation (real app, real spool)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from openlytics.core.pipeline.inputs import InputService
from openlytics.core.pipeline.spool import IncomingSpool
from openlytics.core.principal import Principal, Role
from openlytics.dialects import alooma
from openlytics.store.types import utcnow
from tests.conftest import make_settings


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Openlytics]:
    """One server per metadata backend (the claim of a due input is an UPDATE on either)."""
    data_dir = tmp_path_factory.mktemp(f"inputs-{request.param}") / "data"
    settings, databases = make_settings(data_dir, request.param, scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def drop_dir(app: Openlytics) -> Path:
    folder = app.settings.allowed_file_dirs[0] / f"drop-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def spool(tmp_path: Path) -> IncomingSpool:
    return IncomingSpool(tmp_path / "spool", fsync=False)


@pytest.fixture
def inputs(app: Openlytics, spool: IncomingSpool, tmp_path: Path) -> InputService:
    return make_service(app, spool, tmp_path)


def make_service(app: Openlytics, spool: IncomingSpool, tmp_path: Path) -> InputService:
    return InputService(
        app.db,
        app.box,
        spool,
        notify=Notes(),
        allowed_file_dirs=app.settings.allowed_file_dirs,
        uploads_dir=tmp_path / "uploads",
        webhook_url=lambda token: f"http://example.test/hooks/{token}",
    )


class Notes:
    """Records notifications (the real `PipelineNotifications.notify` signature)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(
        self,
        org_id: int,
        type: str,
        severity: str,
        message: str,
        *,
        description: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.seen.append({"org_id": org_id, "type": type, "severity": severity, "message": message})


def new_org(app: Openlytics) -> Principal:
    root = Principal(org_id=0, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True)
    slug = f"org-{uuid.uuid4().hex[:10]}"
    created = app.identity.create_organization(root, name=slug, admin_email=f"a@{slug}.test")
    return Principal.system(created.organization.id)


@pytest.fixture
def org(app: Openlytics) -> Principal:
    return new_org(app)


def drain(spool: IncomingSpool, org_id: int) -> list[dict[str, Any]]:
    batch = spool.claim(org_id, max_events=1_000_000)
    if batch is None:
        return []
    spool.ack(batch)
    return batch.events


def token_of(inputs: InputService, principal: Principal, input_id: int) -> str:
    return str(inputs.shown_configuration(principal, inputs.get(principal, input_id))["token"])


# ----- the webhook -----------------------------------------------------------------------------
def test_webhook_takes_one_object_and_adds_metadata(
    inputs: InputService, spool: IncomingSpool, org: Principal
) -> None:
    hook = inputs.create(org, name="web", type="rest", configuration={"auto_map": "true"})
    assert hook.type == "REST"
    shown = inputs.shown_configuration(org, hook)
    assert shown["auto_map"] == "true"
    assert shown["url"] == f"http://example.test/hooks/{shown['token']}"

    edited = inputs.update(org, hook.id, configuration={**shown, "auto_map": "false"})
    assert edited.configuration == {"auto_map": "false"}
    assert inputs.shown_configuration(org, edited)["token"] == shown["token"]
    assert inputs.ingest(shown["token"], b'{"type": "install", "n": 1}') == 1
    [event] = drain(spool, org.org_id)
    assert event["type"] == "install"
    metadata = event["_metadata"]
    assert metadata["event_type"] == "web"
    assert metadata["input_label"] == "web"
    assert metadata["input_id"] == hook.id
    assert metadata["input_type"] == "REST"
    assert metadata["received_at"].startswith(str(utcnow().year))
    assert uuid.UUID(metadata["uuid"])


def test_webhook_takes_arrays_and_json_lines_and_keeps_own_metadata(
    inputs: InputService, spool: IncomingSpool, org: Principal
) -> None:
    hook = inputs.create(org, name="batch", type="REST", configuration={})
    token = token_of(inputs, org, hook.id)
    array = json.dumps([{"i": i} for i in range(500)]).encode()
    assert inputs.ingest(token, array) == 500
    lines = b'{"i": 1}\n\n{"i": 2, "_metadata": {"event_type": "special"}}\n'
    assert inputs.ingest(token, lines) == 2
    assert inputs.ingest(token, b"  \n") == 0
    events = drain(spool, org.org_id)
    assert [e["i"] for e in events] == [*range(500), 1, 2]
    assert events[-1]["_metadata"]["event_type"] == "special"
    assert events[-1]["_metadata"]["input_label"] == "batch"
    assert len({e["_metadata"]["uuid"] for e in events}) == 502


def test_webhook_refuses_malformed_json_naming_the_line(
    inputs: InputService, spool: IncomingSpool, org: Principal
) -> None:
    hook = inputs.create(org, name="strict", type="REST", configuration={})
    token = token_of(inputs, org, hook.id)
    with pytest.raises(InvalidInputError, match="line 2"):
        inputs.ingest(token, b'{"a": 1}\n{"a": \n{"a": 3}\n')
    with pytest.raises(InvalidInputError, match="malformed JSON"):
        inputs.ingest(token, b'{"a": ')
    with pytest.raises(InvalidInputError, match="item 1 is not a JSON object"):
        inputs.ingest(token, b'[{"a": 1}, 2]')
    with pytest.raises(InvalidInputError, match="line 2 is not a JSON object"):
        inputs.ingest(token, b'{"a": 1}\n[1]\n')
    with pytest.raises(InvalidInputError):
        inputs.ingest(token, b'"just a string"')
    assert drain(spool, org.org_id) == []


def test_webhook_refuses_unknown_removed_and_paused(inputs: InputService, org: Principal) -> None:
    hook = inputs.create(org, name="gate", type="REST", configuration={})
    token = token_of(inputs, org, hook.id)
    with pytest.raises(AuthenticationError):
        inputs.ingest("not-a-token", b"{}")
    inputs.set_paused(org, hook.id, True)
    with pytest.raises(ConflictError, match="input is paused"):
        inputs.ingest(token, b"{}")
    inputs.set_paused(org, hook.id, False)
    assert inputs.ingest(token, b"{}") == 1
    inputs.remove(org, hook.id)
    with pytest.raises(AuthenticationError):
        inputs.ingest(token, b"{}")


def test_queued_events_wake_the_pipeline(
    inputs: InputService, spool: IncomingSpool, org: Principal, drop_dir: Path
) -> None:
    woken: list[int] = []
    inputs.on_appended = woken.append
    hook = inputs.create(org, name="fast", type="REST", configuration={})
    token = token_of(inputs, org, hook.id)
    assert inputs.ingest(token, b'[{"n": 1}, {"n": 2}]') == 2
    assert woken == [org.org_id]
    assert inputs.ingest(token, b"") == 0  # nothing queued, nothing to wake for
    assert woken == [org.org_id]

    files = inputs.create(org, name="dropped", type="FILE", configuration={"path": str(drop_dir)})
    (drop_dir / "a.jsonl").write_text('{"n": 3}\n')
    assert inputs.poll_now(org, files.id) == 1
    assert inputs.add_file(org, files.id, "b.jsonl", b'{"n": 4}\n') == 1
    assert woken == [org.org_id] * 3

    def broken(org_id: int) -> None:
        raise RuntimeError("the worker is gone")

    inputs.on_appended = broken  # a failed wake-up loses nothing: the events are queued
    assert inputs.ingest(token, b'{"n": 5}') == 1
    assert [e["n"] for e in drain(spool, org.org_id)] == [1, 2, 3, 4, 5]


# ----- CRUD, names, permissions, isolation -----------------------------------------------------
def test_names_are_unique_among_live_inputs(inputs: InputService, org: Principal) -> None:
    first = inputs.create(org, name="dup", type="REST", configuration={})
    with pytest.raises(ConflictError):
        inputs.create(org, name="dup", type="REST", configuration={})
    other = inputs.create(org, name="other", type="REST", configuration={})
    with pytest.raises(ConflictError):
        inputs.update(org, other.id, name="dup")
    inputs.remove(org, first.id)
    again = inputs.create(org, name="dup", type="REST", configuration={})
    assert [i.id for i in inputs.list(org)] == [other.id, again.id]
    assert first.id in [i.id for i in inputs.list(org, include_deleted=True)]
    with pytest.raises(NotFoundError):
        inputs.get(org, first.id)
    with pytest.raises(InvalidInputError):
        inputs.create(org, name=" ", type="REST", configuration={})
    with pytest.raises(InvalidInputError):
        inputs.create(org, name="x", type="not a type!", configuration={})


def test_another_org_cannot_see_or_change_an_input(
    app: Openlytics, inputs: InputService, org: Principal
) -> None:
    mine = inputs.create(org, name="mine", type="REST", configuration={})
    stranger = new_org(app)
    assert inputs.list(stranger) == []
    with pytest.raises(NotFoundError):
        inputs.get(stranger, mine.id)
    with pytest.raises(NotFoundError):
        inputs.update(stranger, mine.id, name="theirs")
    with pytest.raises(NotFoundError):
        inputs.remove(stranger, mine.id)
    with pytest.raises(NotFoundError):
        inputs.set_paused(stranger, mine.id, True)
    with pytest.raises(NotFoundError):
        inputs.shown_configuration(stranger, mine)
    assert inputs.get(org, mine.id).name == "mine"


def test_viewers_read_but_cannot_change_inputs(inputs: InputService, org: Principal) -> None:
    hook = inputs.create(org, name="ro", type="REST", configuration={})
    viewer = Principal(org_id=org.org_id, user_id=None, role=Role.VIEWER, credential="user_key")
    assert inputs.get(viewer, hook.id).name == "ro"
    with pytest.raises(PermissionDeniedError):
        inputs.create(viewer, name="no", type="REST", configuration={})
    with pytest.raises(PermissionDeniedError):
        inputs.set_sleep_time(viewer, hook.id, 5)
    # The webhook token is a credential: viewers see it masked.
    assert inputs.shown_configuration(viewer, hook)["token"] == "**********"
    assert "url" not in inputs.shown_configuration(viewer, hook)
    assert inputs.shown_configuration(org, hook)["token"] != "**********"


def test_pause_resume_and_sleep_time(inputs: InputService, org: Principal, drop_dir: Path) -> None:
    files = inputs.create(org, name="drop", type="FILE", configuration={"path": str(drop_dir)})
    assert inputs.sleep_time(org, files.id) == 60.0
    assert inputs.set_sleep_time(org, files.id, 30).sleep_seconds == 30.0
    assert inputs.sleep_time(org, files.id) == 30.0
    with pytest.raises(InvalidInputError):
        inputs.set_sleep_time(org, files.id, -1)
    with pytest.raises(InvalidInputError):
        inputs.set_sleep_time(org, files.id, float("nan"))
    assert inputs.set_paused(org, files.id, True).paused
    (drop_dir / "a.jsonl").write_text('{"x": 1}\n')
    assert inputs.poll_due(utcnow() + timedelta(days=1)) == 0
    with pytest.raises(ConflictError):
        inputs.poll_now(org, files.id)
    assert not inputs.set_paused(org, files.id, False).paused
    assert inputs.poll_due() == 1


def test_sleep_time_spaces_polls(inputs: InputService, org: Principal, drop_dir: Path) -> None:
    files = inputs.create(org, name="slow", type="FILE", configuration={"path": str(drop_dir)})
    inputs.set_sleep_time(org, files.id, 120)
    now = utcnow()
    assert inputs.poll_due(now) == 0  # nothing there yet, but the poll ran
    (drop_dir / "later.jsonl").write_text('{"x": 1}\n')
    assert inputs.poll_due(now + timedelta(seconds=60)) == 0
    assert inputs.poll_due(now + timedelta(seconds=121)) == 1
    record = inputs.get(org, files.id)
    assert record.last_success_at is not None and record.error_count == 0


# ----- FILE inputs -----------------------------------------------------------------------------
def test_file_input_reads_each_dropped_file_once(
    inputs: InputService, spool: IncomingSpool, org: Principal, drop_dir: Path
) -> None:
    files = inputs.create(org, name="files", type="FILE", configuration={"path": str(drop_dir)})
    (drop_dir / "one.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    (drop_dir / "two.csv").write_text("n,label\n3,three\n4,four\n")
    (drop_dir / "partial.jsonl.part").write_text('{"n": 99}\n')
    (drop_dir / ".hidden.jsonl").write_text('{"n": 98}\n')
    assert inputs.poll_now(org, files.id) == 4
    events = drain(spool, org.org_id)
    assert [e["n"] for e in events] == [1, 2, "3", "4"]
    assert events[2]["label"] == "three"
    assert {e["_metadata"]["input_type"] for e in events} == {"FILE"}

    assert inputs.poll_now(org, files.id) == 0
    (drop_dir / "three.json").write_text('[{"n": 5}]')
    assert inputs.poll_now(org, files.id) == 1
    assert [e["n"] for e in drain(spool, org.org_id)] == [5]


def test_file_input_does_not_follow_links_out_of_the_allowed_directories(
    inputs: InputService, spool: IncomingSpool, org: Principal, drop_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "private.jsonl"
    outside.write_text('{"secret": 1}\n')
    (drop_dir / "link.jsonl").symlink_to(outside)
    (drop_dir / "real.jsonl").write_text('{"n": 1}\n')
    files = inputs.create(org, name="linked", type="FILE", configuration={"path": str(drop_dir)})
    assert inputs.poll_now(org, files.id) == 1
    assert [e.get("n") for e in drain(spool, org.org_id)] == [1]


def test_file_input_skips_bad_lines_and_notifies(
    inputs: InputService, spool: IncomingSpool, org: Principal, drop_dir: Path
) -> None:
    files = inputs.create(org, name="messy", type="FILE", configuration={"path": str(drop_dir)})
    (drop_dir / "m.jsonl").write_text('{"n": 1}\nnot json\n[2]\n{"n": 3}\n')
    assert inputs.poll_now(org, files.id) == 2
    assert [e["n"] for e in drain(spool, org.org_id)] == [1, 3]
    notes = inputs.notify
    assert isinstance(notes, Notes)
    [note] = notes.seen
    assert note["severity"] == "warning" and "2 lines" in note["message"]


def test_file_input_folder_must_be_under_an_allowed_directory(
    inputs: InputService, org: Principal, drop_dir: Path
) -> None:
    with pytest.raises(InvalidInputError, match="allowed directory"):
        inputs.create(org, name="etc", type="FILE", configuration={"path": "/etc"})
    with pytest.raises(InvalidInputError, match="allowed directory"):
        inputs.create(
            org, name="up", type="FILE", configuration={"path": str(drop_dir / ".." / ".." / ".." / "..")}
        )
    with pytest.raises(InvalidInputError, match="not a folder"):
        inputs.create(org, name="missing", type="FILE", configuration={"path": str(drop_dir / "nope")})


def test_uploaded_csv_and_json_lines_become_events(
    inputs: InputService, spool: IncomingSpool, org: Principal, tmp_path: Path
) -> None:
    files = inputs.create(org, name="uploads", type="FILE", configuration={})
    csv_data = b'id,city\r\n1,Paris\r\n2,"Rome, IT"\r\n'
    assert inputs.add_file(org, files.id, "cities.csv", csv_data) == 2
    upload = tmp_path / "uploads" / "u.jsonl"
    upload.parent.mkdir(parents=True)
    upload.write_text('{"id": 3}\n')
    assert inputs.add_file(org, files.id, "u.jsonl", upload) == 1
    events = drain(spool, org.org_id)
    assert [(e["id"], e.get("city")) for e in events] == [("1", "Paris"), ("2", "Rome, IT"), (3, None)]
    assert events[0]["_metadata"]["event_type"] == "uploads"

    with pytest.raises(InvalidInputError, match="line 2"):
        inputs.add_file(org, files.id, "bad.jsonl", b'{"ok": 1}\n{oops\n')
    assert drain(spool, org.org_id) == []
    with pytest.raises(InvalidInputError, match="allowed directory"):
        inputs.add_file(org, files.id, "passwd", Path("/etc/passwd"))
    hook = inputs.create(org, name="hook", type="REST", configuration={})
    with pytest.raises(InvalidInputError):
        inputs.add_file(org, hook.id, "x.csv", b"a\n1\n")


def test_file_cursor_survives_a_new_service_object(
    app: Openlytics, spool: IncomingSpool, org: Principal, drop_dir: Path, tmp_path: Path
) -> None:
    first = make_service(app, spool, tmp_path)
    files = first.create(org, name="durable", type="FILE", configuration={"path": str(drop_dir)})
    (drop_dir / "a.jsonl").write_text('{"n": 1}\n')
    assert first.poll_now(org, files.id) == 1
    second = make_service(app, spool, tmp_path)
    (drop_dir / "b.jsonl").write_text('{"n": 2}\n')
    assert second.poll_now(org, files.id) == 1
    assert [e["n"] for e in drain(spool, org.org_id)] == [1, 2]


# ----- vendor inputs this server cannot reach --------------------------------------------------
S3_CONFIGURATION = {
    "awsAccessKeyId": "AKIAEXAMPLE",
    "awsSecretAccessKey": "very-secret",
    "awsBucketName": "bucket",
    "filePrefix": "",
    "loadFiles": "all",
    "fileFormat": json.dumps({"type": "json"}),
    "auto_map": "true",
}


def test_unreachable_s3_input_is_stored_with_its_secret_masked(
    app: Openlytics, inputs: InputService, org: Principal
) -> None:
    s3 = inputs.create(org, name="bucket", type="S3", configuration=dict(S3_CONFIGURATION))
    assert s3.status == "unreachable"
    assert s3.error_message is not None and s3.error_message.startswith("the S3 source cannot be reached")
    shown = inputs.shown_configuration(org, s3)
    assert shown["awsSecretAccessKey"] == "**********"
    assert shown["awsAccessKeyId"] == "AKIAEXAMPLE"
    assert shown["auto_map"] == "true"
    assert s3.secrets_encrypted and "very-secret" not in s3.secrets_encrypted
    assert json.loads(app.box.decrypt(s3.secrets_encrypted)) == {"awsSecretAccessKey": "very-secret"}

    # Sending the mask back keeps the secret; a new value replaces it.
    edited = inputs.update(org, s3.id, configuration={**shown, "awsBucketName": "other"})
    assert json.loads(app.box.decrypt(edited.secrets_encrypted or "")) == {
        "awsSecretAccessKey": "very-secret"
    }
    assert inputs.poll_due(utcnow() + timedelta(days=1)) == 0

    mixpanel = inputs.create(
        org,
        name="mp",
        type="MIXPANEL",
        configuration={"mixpanelApiKey": "k", "mixpanelApiSecret": "s", "fromDate": "2020-01-01"},
    )
    assert inputs.shown_configuration(org, mixpanel)["mixpanelApiSecret"] == "**********"
    assert inputs.create(org, name="sf", type="SALESFORCE", configuration={"x": 1}).status == "unreachable"


def test_vendor_inputs_are_shape_checked(inputs: InputService, org: Principal) -> None:
    with pytest.raises(InvalidInputError, match="awsBucketName"):
        inputs.create(org, name="s3", type="S3", configuration={**S3_CONFIGURATION, "awsBucketName": ""})
    with pytest.raises(InvalidInputError, match="loadFiles"):
        inputs.create(org, name="s3", type="S3", configuration={**S3_CONFIGURATION, "loadFiles": "some"})
    with pytest.raises(InvalidInputError, match="fileFormat"):
        inputs.create(org, name="s3", type="S3", configuration={**S3_CONFIGURATION, "fileFormat": "{"})
    with pytest.raises(InvalidInputError, match="fromDate"):
        inputs.create(
            org, name="mp", type="MIXPANEL", configuration={"mixpanelApiKey": "k", "mixpanelApiSecret": "s"}
        )


# ----- the application's wiring ----------------------------------------------------------------
def test_the_server_polls_due_inputs_in_the_background(tmp_path: Path) -> None:
    settings, databases = make_settings(tmp_path / "data", "sqlite", public_url="http://ol.example")
    core = Openlytics(settings)
    core.start()
    try:
        org = Principal.system(core.identity.organizations()[0].id)
        hook = core.pipeline_inputs.create(org, name="hook", type="REST", configuration={})
        shown = core.pipeline_inputs.shown_configuration(org, hook)
        assert "url" not in shown  # the core knows no vendor path: the dialect serving webhooks says it
        alooma.install(core)
        shown = core.pipeline_inputs.shown_configuration(org, hook)
        assert shown["url"] == f"http://ol.example/alooma/inputs/rest/{shown['token']}"

        folder = settings.allowed_file_dirs[0] / "drop"
        folder.mkdir(parents=True)
        (folder / "a.jsonl").write_text('{"n": 1}\n')
        files = core.pipeline_inputs.create(
            org, name="drop", type="FILE", configuration={"path": str(folder)}
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            record = core.pipeline_inputs.get(org, files.id)
            if record.last_success_at is not None:
                break
            time.sleep(0.1)
        assert record.cursor["files"]["a.jsonl"] == {"events": 1, "done": True}
    finally:
        core.stop()
        databases.drop()
