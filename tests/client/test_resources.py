"""The resources against a live server, and the typed error each failure raises."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest

from openlytics.client import (
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SourceUnavailableError,
    ValidationError,
)
from tests.client.conftest import SdkOrg


def test_me_names_the_user_and_organization(org: SdkOrg) -> None:
    me = org.viewer.me()
    assert me.user is not None and me.user.role == "viewer" and me.user.id == org.user_ids["viewer"]
    assert me.credential == "user_key" and me.organization.id > 0


def test_an_unknown_key_raises_authentication_error(org: SdkOrg) -> None:
    with Client(org.url, "olk_not_a_key") as client, pytest.raises(AuthenticationError) as caught:
        client.me()
    assert caught.value.code == "unauthenticated" and caught.value.status_code == 401


def test_a_viewer_writing_raises_permission_denied(org: SdkOrg) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        org.viewer.queries.create("mine", "SELECT 1")
    assert caught.value.code == "permission_denied"
    with pytest.raises(PermissionDeniedError):
        org.viewer.run_sql("SELECT 1")


def test_an_unknown_id_raises_not_found(org: SdkOrg) -> None:
    with pytest.raises(NotFoundError) as caught:
        org.viewer.queries.get(10**9)
    assert caught.value.code == "not_found"
    with pytest.raises(NotFoundError):
        org.viewer.jobs.get(10**9)


def test_a_missing_parameter_raises_validation_error(org: SdkOrg) -> None:
    parameters = [{"name": "n", "type": "number"}]
    query = org.editor.queries.create("p", "SELECT {{ n }} AS n", parameters=parameters)
    with pytest.raises(ValidationError) as caught:
        org.viewer.queries.run(query.id)
    assert caught.value.code == "invalid_input" and caught.value.status_code == 422
    assert "n" in caught.value.message


def test_queries_can_be_created_found_changed_forked_and_archived(org: SdkOrg) -> None:
    tag = f"t{uuid.uuid4().hex[:6]}"
    created = [org.editor.queries.create(f"sales {i}", f"SELECT {i} AS i", tags=[tag]) for i in range(3)]
    other = org.editor.queries.create("unrelated", "SELECT 0", description="not tagged")
    assert other.description == "not tagged" and other.tags == []
    assert {q.id for q in org.viewer.queries.list(tag=tag)} == {q.id for q in created}
    assert [q.id for q in org.viewer.queries.list(q="unrelated")] == [other.id]

    changed = org.editor.queries.update(created[0].id, name="renamed", sql="SELECT 100 AS i")
    assert (changed.name, changed.sql) == ("renamed", "SELECT 100 AS i")
    assert changed.version > created[0].version
    with pytest.raises(TypeError):
        org.editor.queries.update(created[0].id, colour="red")

    fork = org.editor.queries.fork(created[1].id)
    assert fork.forked_from_id == created[1].id and fork.sql == created[1].sql

    org.editor.queries.archive(created[2].id)
    assert org.viewer.queries.get(created[2].id).is_archived
    assert created[2].id not in {q.id for q in org.viewer.queries.list(tag=tag)}
    assert created[2].id in {q.id for q in org.viewer.queries.list(tag=tag, include_archived=True)}


def test_listing_follows_pages(org: SdkOrg) -> None:
    tag = f"many{uuid.uuid4().hex[:6]}"
    for i in range(260):  # more than one page of 250
        org.editor.queries.create(f"q{i}", "SELECT 1", tags=[tag])
    assert len(list(org.viewer.queries.list(tag=tag))) == 260


def test_the_warehouse_is_listed_tested_and_described(org: SdkOrg) -> None:
    [warehouse] = list(org.viewer.data_sources.list())
    assert warehouse.kind == "warehouse" and warehouse.is_default
    assert org.viewer.data_sources.get(warehouse.id) == warehouse
    assert org.viewer.data_sources.test(warehouse.id) is True
    org.editor.run_sql("CREATE TABLE people AS SELECT 1::INTEGER AS id, 'Ada' AS name")
    people = next(t for t in org.viewer.data_sources.schema(warehouse.id) if t.name == "people")
    assert [(c.name, c.type) for c in people.columns] == [("id", "integer"), ("name", "string")]
    assert org.editor.data_sources.invalidate_cache(warehouse.id).id == warehouse.id
    with pytest.raises(ConflictError):
        org.admin.data_sources.delete(warehouse.id)


def test_an_external_source_can_be_added_queried_and_removed(org: SdkOrg, server: Any) -> None:
    path = server.settings.data_dir.parent / f"shop-{uuid.uuid4().hex[:6]}.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL)")
        conn.execute("INSERT INTO items VALUES ('pen', 1.5), ('lamp', 20.0)")
    source = org.admin.data_sources.create("shop", f"sqlite:///{path}", options={"timeout": 30})
    assert source.kind == "sqlite" and source.options == {"timeout": 30}
    renamed = org.admin.data_sources.update(source.id, name="store")
    assert renamed.name == "store"
    result = org.editor.run_sql("SELECT name FROM items ORDER BY price", data_source_id=source.id)
    assert result.rows == [{"name": "pen"}, {"name": "lamp"}]
    org.admin.data_sources.delete(source.id)
    with pytest.raises(NotFoundError):
        org.admin.data_sources.get(source.id)


def test_an_unreachable_source_raises_source_unavailable(org: SdkOrg) -> None:
    source = org.admin.data_sources.create("dead", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(SourceUnavailableError) as caught:
        org.admin.data_sources.test(source.id)
    assert caught.value.code == "source_unavailable" and caught.value.status_code == 502


def test_admins_manage_users(org: SdkOrg) -> None:
    email = f"new-{uuid.uuid4().hex[:6]}@example.test"
    user = org.admin.users.create(email, "New Person", role="editor")
    assert (user.email, user.role, user.is_disabled) == (email, "editor", False)
    assert user.id in {u.id for u in org.admin.users.list()}
    assert org.admin.users.update(user.id, role="viewer", name="Renamed").role == "viewer"
    assert org.admin.users.disable(user.id).is_disabled
    assert not org.admin.users.enable(user.id).is_disabled
    with pytest.raises(ValidationError):
        org.admin.users.create(f"x-{email}", "Bad Role", role="emperor")
    with pytest.raises(PermissionDeniedError):
        org.editor.users.create(f"y-{email}", "Nope")


def test_an_api_key_is_shown_once_works_and_can_be_revoked(org: SdkOrg) -> None:
    key = org.viewer.api_keys.create("laptop")
    assert key.key and key.prefix and key.key.startswith(key.prefix)
    listed = {k.id: k for k in org.viewer.api_keys.list()}
    assert listed[key.id].key is None and listed[key.id].name == "laptop"
    with Client(org.url, key.key) as client:
        assert client.me().user is not None
        org.viewer.api_keys.revoke(key.id)
        with pytest.raises(AuthenticationError):
            client.me()


def test_a_superadmin_creates_an_organization_and_gets_its_admin_key(server: Any) -> None:
    slug = f"sdk-{uuid.uuid4().hex[:8]}"
    with Client(server.url, server.admin_key) as root:
        created = root.organizations.create(slug, f"boss@{slug}.test", slug=slug, admin_name="Boss")
    assert created.organization.slug == slug and created.admin.role == "admin"
    with Client(server.url, created.api_key) as client:
        assert client.organizations.current().id == created.organization.id
        me = client.me()
        assert me.user is not None and me.user.id == created.admin.id


def test_schedules_are_created_triggered_and_their_runs_listed(org: SdkOrg) -> None:
    query = org.editor.queries.create("daily", "SELECT 1 AS one")
    schedule = org.editor.schedules.create(
        query.id, cron="0 6 * * *", timezone="Europe/Paris", name="morning"
    )
    assert (schedule.cron, schedule.timezone, schedule.target_id) == ("0 6 * * *", "Europe/Paris", query.id)
    assert schedule.id in {s.id for s in org.viewer.schedules.list()}
    run = org.editor.schedules.trigger(schedule.id)
    assert run.manual and run.job_id is not None and run.schedule_id == schedule.id
    assert run.id in {r.id for r in org.viewer.schedules.runs(schedule.id)}
    assert org.editor.schedules.update(schedule.id, enabled=False).enabled is False
    with pytest.raises(ValidationError):
        org.editor.schedules.create(query.id, cron="not cron")
    org.editor.schedules.delete(schedule.id)
    with pytest.raises(NotFoundError):
        org.viewer.schedules.get(schedule.id)


def test_jobs_are_listed_newest_first_and_filtered(org: SdkOrg) -> None:
    query = org.editor.queries.create("listed", "SELECT 1 AS one")
    result = org.editor.queries.run(query.id)
    assert result.job is not None
    assert [j.id for j in org.editor.jobs.list(query_id=query.id)] == [result.job.id]
    assert all(j.status_name == "SUCCESS" for j in org.editor.jobs.list(status="success", query_id=query.id))
