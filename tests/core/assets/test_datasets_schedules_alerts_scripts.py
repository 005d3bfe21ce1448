"""Export and import of datasets (schema only), schedules, alerts and scripts through the core:
round trips into another organization, updates by guid, plans, and imports that fail leaving
nothing behind, in the metadata or in the warehouse."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from openlytics.app import Openlytics
from openlytics.core.assets.documents import parse_texts, render, without_fqn
from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import InvalidInputError, QueryFailedError
from openlytics.core.principal import Principal
from openlytics.engines.base import SourceEngine, Statement
from openlytics.store.models import Alert, Dataset, Schedule, Script
from tests.core.governance.conftest import People, new_organization

COLUMNS = [{"name": "id", "type": "int64"}, {"name": "label", "type": "string"}]


@dataclass
class Objects:
    """One object of each kind, made directly through the services."""

    script: Script
    query_id: int
    dataset: Dataset
    alert: Alert
    schedules: dict[str, Schedule]


def _objects(org: People) -> Objects:
    app, editor = org.app, org.editor
    suffix = uuid.uuid4().hex[:6]
    script = app.scripts.create(
        editor, name=f"nightly {suffix}", code="print('hi')\n", options={"retries": 1}, wall_seconds=30
    )
    app.scripts.set_storage(editor, script.id, '{"cursor": 42}')
    query = app.queries.create(editor, name="totals", sql="SELECT 5 AS total")
    dataset = app.datasets.create(
        editor,
        name=f"sales_{suffix}",
        columns=COLUMNS,
        primary_key=["id"],
        description="daily sales",
        options={"color": "blue"},
        source_query_id=query.id,
    )
    alert = app.alerts.create(
        editor,
        name="too many",
        query_id=query.id,
        options={"column": "total", "op": ">", "value": 3},
        rearm=600,
    )
    schedules = {
        "query_refresh": app.schedules.create(
            editor, kind="query_refresh", target_id=query.id, interval_seconds=3600, name="hourly"
        ),
        "script_run": app.schedules.create(
            editor,
            kind="script_run",
            target_id=script.id,
            cron="30 2 * * *",
            timezone="Europe/Paris",
            starts_at="2030-01-01T00:00:00+00:00",
            payload={"mode": "full"},
        ),
        "dataset_rebuild": app.schedules.create(
            editor, kind="dataset_rebuild", target_id=dataset.id, interval_seconds=86400, enabled=False
        ),
    }
    return Objects(script, query.id, dataset, alert, schedules)


def _body(app: Openlytics, principal: Principal, guid: Any) -> dict[str, Any]:
    [exported] = app.assets.export(principal, [str(guid)])
    return without_fqn(exported.document[exported.kind])


def _warehouse(app: Openlytics, principal: Principal) -> SourceEngine:
    return app.sources.engine(app.sources.default(principal))


def _queryable(app: Openlytics, principal: Principal, name: str) -> bool:
    """Whether the organization's warehouse answers a query on `name`."""
    engine = _warehouse(app, principal)
    try:
        with engine.execute(Statement.plain(f'SELECT * FROM "{name}"')) as execution:
            list(execution.batches())
    except QueryFailedError:
        return False
    return True


def _dataset_tables(app: Openlytics, principal: Principal) -> list[str]:
    return _warehouse(app, principal).warehouse_tables().table_names("_ds_")


def _counts(app: Openlytics, org_id: int) -> tuple[int, ...]:
    with app.db.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model).where(model.org_id == org_id)) or 0
            for model in (Dataset, Schedule, Alert, Script)
        )


def _round_trip(org: People, guid: Any) -> tuple[People, Any, dict[str, Any]]:
    """Export an object with what it refers to, as YAML text, and import it into a new organization;
    the new organization, the imported object's guid and the exported body."""
    app = org.app
    exported = app.assets.export(org.editor, [str(guid)], associated=True)
    text = "---\n".join(render(e.document) for e in exported)
    other = new_organization(app)
    report = app.assets.import_documents(other.editor, parse_texts(text))
    assert report.ok, [i.error for i in report.items]
    assert report.applied
    return other, report.items[0].guid, without_fqn(exported[0].document[exported[0].kind])


# ----- round trips -------------------------------------------------------------------------------
def test_a_script_round_trips_without_its_stored_state(org: People) -> None:
    app = org.app
    objects = _objects(org)
    other, guid, body = _round_trip(org, objects.script.uuid)
    assert "storage" not in body
    assert body == {
        "name": objects.script.name,
        "code": "print('hi')\n",
        "kind": "python",
        "options": {"retries": 1},
        "cpu_seconds": None,
        "wall_seconds": 30,
        "memory_mb": None,
    }
    imported = app.scripts.get(other.editor, str(guid))
    assert imported.org_id == other.admin.org_id and imported.storage is None
    assert _body(app, other.editor, guid) == body


def test_a_dataset_round_trips_its_schema_and_gets_a_real_table(org: People) -> None:
    app = org.app
    objects = _objects(org)
    app.datasets.append(org.editor, objects.dataset.id, LoadSource.from_rows([{"id": 1, "label": "a"}]))
    [dataset_doc, query_doc, source_doc] = app.assets.export(
        org.editor, [str(objects.dataset.uuid)], associated=True
    )
    assert [dataset_doc.kind, query_doc.kind, source_doc.kind] == ["dataset", "query", "data_source"]
    body = dataset_doc.document["dataset"]
    assert body["columns"] == COLUMNS and body["primary_key"] == ["id"]
    assert body["source_query"]["name"] == "totals" and "fqn" in body["source_query"]
    assert "rows" not in body and "row_count" not in body  # schema only

    other, guid, exported = _round_trip(org, objects.dataset.uuid)
    assert _body(app, other.editor, guid) == exported
    imported = app.datasets.get(other.editor, str(guid))
    assert imported.columns == COLUMNS and imported.row_count == 0  # rows are data, not code
    assert imported.source_query_id is not None
    assert app.queries.get(other.editor, imported.source_query_id).org_id == other.admin.org_id
    # The dataset really has its table: rows go in and come out, and queries read it by name.
    app.datasets.append(other.editor, imported.id, LoadSource.from_rows([{"id": 7, "label": "seven"}]))
    rows = app.datasets.read(other.editor, imported.id).read_all().to_pylist()
    assert rows == [{"id": 7, "label": "seven"}]
    assert _queryable(app, other.editor, imported.name)


def test_an_alert_round_trips_with_its_query(org: People) -> None:
    app = org.app
    objects = _objects(org)
    app.alerts.update(org.editor, objects.alert.id, muted=True)
    other, guid, body = _round_trip(org, objects.alert.uuid)
    assert body == {
        "name": "too many",
        "query": {"name": "totals"},
        "options": {"column": "total", "op": ">", "value": 3},
        "rearm": 600,
        "muted": True,
    }
    with app.db.session() as s:
        alert_id = s.scalar(select(Alert.id).where(Alert.uuid == guid))
    assert alert_id is not None
    imported = app.alerts.get(other.editor, alert_id)
    assert imported.org_id == other.admin.org_id and imported.state == "unknown" and imported.muted
    assert app.queries.get(other.editor, imported.query_id).name == "totals"
    assert _body(app, other.editor, guid) == body


@pytest.mark.parametrize("kind", ["query_refresh", "script_run", "dataset_rebuild"])
def test_a_schedule_round_trips_with_its_target(org: People, kind: str) -> None:
    app = org.app
    objects = _objects(org)
    schedule = objects.schedules[kind]
    other, guid, body = _round_trip(org, schedule.uuid)
    assert body["kind"] == kind
    assert _body(app, other.editor, guid) == body
    with app.db.session() as s:
        imported = s.scalars(select(Schedule).where(Schedule.uuid == guid)).one()
    assert imported.org_id == other.admin.org_id and imported.target_id != schedule.target_id
    if kind == "script_run":
        assert body["cron"] == "30 2 * * *" and body["timezone"] == "Europe/Paris"
        assert body["starts_at"] == "2030-01-01T00:00:00+00:00" and body["payload"] == {"mode": "full"}
        assert app.scripts.get(other.editor, imported.target_id).name == objects.script.name
    if kind == "dataset_rebuild":
        assert body["enabled"] is False and imported.next_run_at is None
        assert app.datasets.get(other.editor, imported.target_id).name == objects.dataset.name


def test_export_all_round_trips_every_kind_into_a_fresh_organization(org: People) -> None:
    app = org.app
    _objects(org)
    exported = app.assets.export_all(org.editor)
    kinds = [e.kind for e in exported]
    for kind in ("script", "query", "dataset", "alert", "schedule"):
        assert kind in kinds
    assert kinds.count("schedule") == 3

    other = new_organization(app)
    report = app.assets.import_documents(other.editor, [e.document for e in exported])
    assert report.ok, [i.error for i in report.items]
    again = app.assets.export_all(other.editor)
    assert [without_fqn(e.document) for e in again] == [without_fqn(e.document) for e in exported]
    # The other organization's objects hold the guids: the copies got new ones.
    assert not {e.guid for e in again} & {e.guid for e in exported}


# ----- updates by guid and plans -----------------------------------------------------------------
def _changed(objects: Objects, kind: str) -> tuple[Any, dict[str, Any], set[str]]:
    """An object's guid, a change to its body and the fields that change."""
    if kind == "script":
        return objects.script.uuid, {"code": "print('bye')\n", "memory_mb": 256}, {"code", "memory_mb"}
    if kind == "dataset":
        columns = [*COLUMNS, {"name": "amount", "type": "float64"}]
        return objects.dataset.uuid, {"description": "weekly", "columns": columns}, {"description", "columns"}
    if kind == "alert":
        return objects.alert.uuid, {"options": {"column": "total", "op": "<", "value": 1}}, {"options"}
    schedule = objects.schedules["query_refresh"]
    return schedule.uuid, {"interval_seconds": None, "cron": "0 * * * *"}, {"interval_seconds", "cron"}


@pytest.mark.parametrize("kind", ["script", "dataset", "alert", "schedule"])
def test_reimporting_a_changed_document_updates_by_guid_and_the_plan_writes_nothing(
    org: People, kind: str
) -> None:
    app = org.app
    objects = _objects(org)
    guid, change, fields = _changed(objects, kind)
    [exported] = app.assets.export(org.editor, [str(guid)])
    before = _body(app, org.editor, guid)
    document = copy.deepcopy(exported.document)
    document[kind].update(change)
    tables = _dataset_tables(app, org.editor)

    plan = app.assets.import_documents(org.editor, [document], apply=False)
    assert plan.ok and not plan.applied
    assert plan.items[0].action == "update" and set(plan.items[0].changes) == fields
    assert _body(app, org.editor, guid) == before
    assert _dataset_tables(app, org.editor) == tables

    report = app.assets.import_documents(org.editor, [document])
    assert report.ok and report.applied
    assert report.items[0].guid == guid and report.items[0].action == "update"
    after = _body(app, org.editor, guid)
    assert {key: after[key] for key in change} == change
    assert {k: v for k, v in after.items() if k not in change} == {
        k: v for k, v in before.items() if k not in change
    }

    again = app.assets.import_documents(org.editor, [document])
    assert again.items[0].action == "unchanged" and not again.applied


def test_a_body_giving_some_fields_changes_only_those(org: People) -> None:
    app = org.app
    objects = _objects(org)
    document = {"guid": str(objects.script.uuid), "script": {"memory_mb": 64}}
    report = app.assets.import_documents(org.editor, [document])
    assert report.ok and report.items[0].changes == ["memory_mb"]
    script = app.scripts.get(org.editor, objects.script.id)
    assert (script.memory_mb, script.code, script.wall_seconds) == (64, "print('hi')\n", 30)
    assert script.storage == '{"cursor": 42}'  # the script's state is left alone


def test_an_import_adds_columns_to_a_dataset_that_keeps_its_rows(org: People) -> None:
    app = org.app
    objects = _objects(org)
    dataset_id = objects.dataset.id
    app.datasets.append(org.editor, dataset_id, LoadSource.from_rows([{"id": 1, "label": "a"}]))
    document = {
        "guid": str(objects.dataset.uuid),
        "dataset": {"columns": [*COLUMNS, {"name": "amount", "type": "double"}], "primary_key": ["amount"]},
    }
    report = app.assets.import_documents(org.editor, [document])
    assert report.ok, report.items[0].error
    dataset = app.datasets.get(org.editor, dataset_id)
    assert dataset.columns == [*COLUMNS, {"name": "amount", "type": "float64"}]
    assert dataset.primary_key == ["amount"]
    rows = app.datasets.read(org.editor, dataset_id).read_all().to_pylist()
    assert rows == [{"id": 1, "label": "a", "amount": None}]


@pytest.mark.parametrize(
    ("columns", "position", "words"),
    [
        ([{"name": "id", "type": "string"}, {"name": "label", "type": "string"}], 0, "reload"),
        ([{"name": "id", "type": "int64"}], 1, "dropped"),
        ([{"name": "label", "type": "string"}, {"name": "id", "type": "int64"}], 0, "order"),
    ],
)
def test_an_import_never_changes_drops_or_reorders_existing_columns(
    org: People, columns: list[dict[str, str]], position: int, words: str
) -> None:
    app = org.app
    objects = _objects(org)
    document = {"guid": str(objects.dataset.uuid), "dataset": {"columns": columns}}
    report = app.assets.import_documents(org.editor, [document])
    error = report.items[0].error
    assert isinstance(error, InvalidInputError)
    assert error.field == f"dataset.columns[{position}]" and words in error.reason
    assert app.datasets.get(org.editor, objects.dataset.id).columns == COLUMNS


def test_renaming_a_dataset_by_import_repoints_its_view(org: People) -> None:
    app = org.app
    objects = _objects(org)
    old_name = objects.dataset.name
    new_name = f"{old_name}_renamed"
    document = {"guid": str(objects.dataset.uuid), "dataset": {"name": new_name}}
    plan = app.assets.import_documents(org.editor, [document], apply=False)
    assert plan.ok and plan.items[0].changes == ["name"]
    assert _queryable(app, org.editor, old_name) and not _queryable(app, org.editor, new_name)

    report = app.assets.import_documents(org.editor, [document])
    assert report.ok, report.items[0].error
    assert app.datasets.get(org.editor, objects.dataset.id).name == new_name
    assert _queryable(app, org.editor, new_name) and not _queryable(app, org.editor, old_name)


# ----- failures leave nothing behind -------------------------------------------------------------
def test_a_schedule_whose_target_is_missing_fails_and_leaves_nothing(org: People) -> None:
    app = org.app
    org_id = org.admin.org_id
    before = _counts(app, org_id)
    documents = [
        {"guid": str(uuid.uuid4()), "script": {"name": "fine", "code": "pass"}},
        {
            "guid": str(uuid.uuid4()),
            "schedule": {
                "kind": "query_refresh",
                "target": {"name": "no such query"},
                "interval_seconds": 60,
            },
        },
    ]
    report = app.assets.import_documents(org.editor, documents)
    assert not report.ok and not report.applied and report.items[0].ok
    error = report.items[1].error
    assert isinstance(error, InvalidInputError)
    assert error.field == "schedule.target" and "no query 'no such query'" in str(error)
    assert _counts(app, org_id) == before

    wrong_kind = {
        "guid": str(uuid.uuid4()),
        "schedule": {"kind": "coffee", "target": "x", "cron": "0 * * * *"},
    }
    report = app.assets.import_documents(org.editor, [wrong_kind])
    assert (
        isinstance(report.items[0].error, InvalidInputError)
        and report.items[0].error.field == "schedule.kind"
    )
    assert _counts(app, org_id) == before


def test_a_bad_column_type_fails_and_leaves_no_dataset_nor_table(org: People) -> None:
    app = org.app
    org_id = org.admin.org_id
    name = f"bad_{uuid.uuid4().hex[:6]}"
    before, tables = _counts(app, org_id), _dataset_tables(app, org.editor)
    documents = [
        {"guid": str(uuid.uuid4()), "dataset": {"name": f"{name}_fine", "columns": COLUMNS}},
        {
            "guid": str(uuid.uuid4()),
            "dataset": {
                "name": name,
                "columns": [{"name": "id", "type": "int64"}, {"name": "x", "type": "money"}],
            },
        },
    ]
    report = app.assets.import_documents(org.editor, documents)
    assert not report.ok and not report.applied and report.items[0].ok
    error = report.items[1].error
    assert isinstance(error, InvalidInputError)
    assert error.field == "dataset.columns[1].type" and "money" in error.reason
    assert _counts(app, org_id) == before
    assert _dataset_tables(app, org.editor) == tables
    assert not _queryable(app, org.editor, name) and not _queryable(app, org.editor, f"{name}_fine")


def test_validate_only_creates_no_warehouse_table(org: People) -> None:
    app = org.app
    name = f"planned_{uuid.uuid4().hex[:6]}"
    before, tables = _counts(app, org.admin.org_id), _dataset_tables(app, org.editor)
    document = {
        "guid": str(uuid.uuid4()),
        "dataset": {"name": name, "columns": COLUMNS, "primary_key": ["id"]},
    }
    plan = app.assets.import_documents(org.editor, [document], apply=False)
    assert plan.ok and not plan.applied and plan.items[0].action == "create"
    assert _counts(app, org.admin.org_id) == before
    assert _dataset_tables(app, org.editor) == tables
    assert not _queryable(app, org.editor, name)

    report = app.assets.import_documents(org.editor, [document])
    assert report.ok and report.applied
    assert len(_dataset_tables(app, org.editor)) == len(tables) + 1
    assert _queryable(app, org.editor, name)
    assert app.datasets.find_by_name(org.editor, name) is not None


def test_a_table_that_cannot_be_made_after_the_commit_removes_the_imported_dataset(org: People) -> None:
    app = org.app
    name = f"taken_{uuid.uuid4().hex[:6]}"
    # A warehouse table (not a dataset) already holds the name the dataset's view needs.
    _warehouse(app, org.admin).warehouse_tables().create_table(name, pa.schema([pa.field("z", pa.int64())]))
    before, tables = _counts(app, org.admin.org_id), _dataset_tables(app, org.editor)
    document = {"guid": str(uuid.uuid4()), "dataset": {"name": name, "columns": COLUMNS}}
    with pytest.raises(QueryFailedError):
        app.assets.import_documents(org.editor, [document])
    assert _counts(app, org.admin.org_id) == before
    assert app.datasets.find_by_name(org.editor, name) is None
    assert _dataset_tables(app, org.editor) == tables


def test_a_datasets_shares_travel_with_its_document(org: People) -> None:
    app = org.app
    objects = _objects(org)
    assert org.viewer.user_id is not None
    app.sharing.share(
        org.editor, "dataset", [objects.dataset.id], {("user", org.viewer.user_id): "READ_ONLY"}
    )
    [exported] = app.assets.export(org.editor, [str(objects.dataset.uuid)], permissions=True)
    viewer_email = app.identity.get_user(org.admin, org.viewer.user_id).email
    entries = exported.document["dataset"]["permissions"]
    assert entries == [{"principal": {"type": "user", "name": viewer_email}, "mode": "READ_ONLY"}]
    document = copy.deepcopy(exported.document)
    document["dataset"]["permissions"] = []
    report = app.assets.import_documents(org.editor, [document])
    assert report.ok and report.items[0].changes == ["permissions"]
    assert app.sharing.defined(org.editor, "dataset", objects.dataset.id) == {}
