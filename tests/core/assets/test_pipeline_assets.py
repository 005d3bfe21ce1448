"""Export and import of an organization's event pipeline: inputs, Code Engine modules and event
types (with their mappings), through the core: round trips, updates by guid, plans, secrets."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from openlytics.app import Openlytics
from openlytics.core.assets.context import ExportContext
from openlytics.core.assets.documents import parse_texts, render
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.pipeline.input_sources import MASK
from openlytics.store.models import PipelineInput
from tests.core.governance.conftest import People, new_organization

PIPELINE_KINDS = ["pipeline_input", "event_type", "code_module"]
TRANSFORM = "from helpers import double\n\ndef transform(event):\n    event['doubled'] = double(event['n'])\n    return event\n"
HELPERS = "def double(n):\n    return n * 2\n"
CODE_SECRET = "code-engine-secret-" + uuid.uuid4().hex
S3_SECRET = "s3-secret-" + uuid.uuid4().hex


def _bigint(column: str) -> dict[str, Any]:
    return {"columnName": column, "columnType": {"type": "BIGINT"}}


def _mapping(table: str) -> dict[str, Any]:
    """A STRICT mapping of `clicks` events: n, doubled (added by the transform), page.url."""
    return {
        "mapping": {"tableName": table},
        "mappingMode": "STRICT",
        "fields": [
            {"fieldName": "n", "mapping": _bigint("n")},
            {"fieldName": "doubled", "mapping": _bigint("doubled")},
            {
                "fieldName": "page",
                "fields": [
                    {
                        "fieldName": "url",
                        "mapping": {
                            "columnName": "page_url",
                            "columnType": {"type": "VARCHAR", "length": 200},
                        },
                    }
                ],
            },
        ],
    }


def _pipeline(org: People, *, table: str = "click_events") -> dict[str, Any]:
    """A REST input, a paused FILE input, two modules (main and helpers) and a mapped event type
    discovered from the REST input."""
    app, admin = org.app, org.admin
    app.code_engine.set_modules(admin, {"main": TRANSFORM, "helpers": HELPERS})
    app.code_engine.set_secrets(admin, {"api_token": CODE_SECRET})
    web = app.pipeline_inputs.create(admin, name="web", type="REST", configuration={"eventType": "clicks"})
    app.pipeline_inputs.set_sleep_time(admin, web.id, 30)
    folder = app.settings.allowed_file_dirs[0] / f"drops-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    files = app.pipeline_inputs.create(
        admin, name="drops", type="FILE", configuration={"path": str(folder), "fileFormat": "csv"}
    )
    app.pipeline_inputs.set_paused(admin, files.id, True)
    app.pipeline_inputs.set_sleep_time(admin, files.id, 120)
    app.event_types.set_mapping(admin, "clicks", _mapping(table))
    app.event_types.observe(admin.org_id, "clicks", [{"n": 1, "page": {"url": "/a"}}], input_id=web.id)
    token = app.pipeline_inputs.shown_configuration(admin, app.pipeline_inputs.get(admin, web.id))["token"]
    return {"web": web, "files": files, "folder": folder, "token": token}


def _inputs(app: Openlytics, org: People) -> dict[str, PipelineInput]:
    return {i.name: i for i in app.pipeline_inputs.list(org.admin)}


def _rows(app: Openlytics, org: People, sql: str) -> list[dict[str, Any]]:
    outcome = app.jobs.run_adhoc(org.admin, sql, wait=30)
    assert outcome.result is not None, outcome.job and outcome.job.error
    rows: list[dict[str, Any]] = app.results.open(outcome.result.path).read_all().to_pylist()
    return rows


def test_the_pipeline_round_trips_into_another_organization_and_loads_events_alike(org: People) -> None:
    app = org.app
    made = _pipeline(org)
    exported = app.assets.export_all(org.admin, PIPELINE_KINDS)
    assert [(e.kind, e.name) for e in exported] == [
        ("code_module", "main"),
        ("code_module", "helpers"),
        ("pipeline_input", "web"),
        ("pipeline_input", "drops"),
        ("event_type", "clicks"),
    ]
    web_doc = exported[2].document["pipeline_input"]
    assert web_doc == {
        "name": "web",
        "type": "REST",
        "configuration": {"eventType": "clicks"},
        "paused": False,
        "sleep_seconds": 30.0,
    }
    clicks = exported[4].document["event_type"]
    assert clicks["input"] == {"name": "web", "fqn": str(made["web"].uuid)}
    assert (clicks["state"], clicks["table"], clicks["mapping_mode"]) == ("MAPPED", "click_events", "STRICT")
    text = "---\n".join(render(e.document) for e in exported)
    assert made["token"] not in text and CODE_SECRET not in text and "api_token" not in text

    other = new_organization(app)
    report = app.assets.import_documents(other.admin, parse_texts(text))
    assert report.ok, [i.error for i in report.items]
    assert report.applied and [i.action for i in report.items] == ["create"] * 5

    inputs = _inputs(app, other)
    assert sorted(inputs) == ["drops", "web"]
    assert (inputs["web"].type, inputs["web"].paused, inputs["web"].sleep_seconds) == ("REST", False, 30.0)
    assert (inputs["drops"].paused, inputs["drops"].sleep_seconds) == (True, 120.0)
    assert inputs["drops"].configuration == {"path": str(made["folder"]), "fileFormat": "csv"}
    shown = app.pipeline_inputs.shown_configuration(other.admin, inputs["web"])
    assert shown["token"] != made["token"]  # the imported webhook has a token of its own
    assert {m.name: m.code for m in app.code_engine.modules(other.admin)} == {
        "main": TRANSFORM,
        "helpers": HELPERS,
    }
    assert app.code_engine.secret_names(other.admin) == []  # secrets are never exported

    original = app.event_types.to_document(app.event_types.get(org.admin, "clicks"))
    imported = app.event_types.get(other.admin, "clicks")
    assert imported.input_id == inputs["web"].id and imported.org_id == other.admin.org_id
    copied = app.event_types.to_document(imported)
    for key in ("fields", "mapping", "mappingMode", "state", "origInputLabel", "consolidation"):
        assert copied[key] == original[key], key

    # The imported transform and mapping load the imported webhook's events into the same table.
    body = b'{"n": 1, "page": {"url": "/a"}}\n{"n": 2, "page": {"url": "/b"}}'
    assert app.pipeline_inputs.ingest(shown["token"], body) == 2
    app.pipeline_worker.drain(other.admin.org_id, timeout=60)
    assert app.pipeline_samples.stats(other.admin) == {"clicks": {"VALID": 2}}
    rows = _rows(app, other, "SELECT n, doubled, page_url FROM click_events ORDER BY n")
    assert rows == [{"n": 1, "doubled": 2, "page_url": "/a"}, {"n": 2, "doubled": 4, "page_url": "/b"}]


def test_reimporting_changed_documents_updates_by_guid_and_the_plan_writes_nothing(org: People) -> None:
    app = org.app
    made = _pipeline(org)
    exported = {e.name: e for e in app.assets.export_all(org.admin, PIPELINE_KINDS)}
    helpers = copy.deepcopy(exported["helpers"].document)
    helpers["code_module"]["code"] = "def double(n):\n    return n + n\n"
    clicks = copy.deepcopy(exported["clicks"].document)
    clicks["event_type"]["table"] = "clicks_v2"
    clicks["event_type"]["fields"][0]["mapping"]["columnName"] = "number"
    drops = copy.deepcopy(exported["drops"].document)
    drops["pipeline_input"]["paused"] = False
    drops["pipeline_input"]["sleep_seconds"] = 300
    documents = [clicks, drops, helpers]

    plan = app.assets.import_documents(org.admin, documents, apply=False)
    assert plan.ok and not plan.applied, [i.error for i in plan.items]
    assert [(i.action, set(i.changes)) for i in plan.items] == [
        ("update", {"table", "fields"}),
        ("update", {"paused", "sleep_seconds"}),
        ("update", {"code"}),
    ]
    assert app.code_engine.module(org.admin, "helpers").code == HELPERS
    assert app.event_types.get(org.admin, "clicks").table_name == "click_events"
    files = app.pipeline_inputs.get(org.admin, made["files"].id)
    assert (files.paused, files.sleep_seconds) == (True, 120.0)

    report = app.assets.import_documents(org.admin, documents)
    assert report.ok and report.applied
    assert [i.guid for i in report.items] == [exported[n].guid for n in ("clicks", "drops", "helpers")]
    assert app.code_engine.module(org.admin, "helpers").code.endswith("n + n\n")
    event_type = app.event_types.get(org.admin, "clicks")
    assert event_type.table_name == "clicks_v2" and event_type.input_id == made["web"].id
    assert event_type.fields[0]["mapping"]["columnName"] == "number"
    files = app.pipeline_inputs.get(org.admin, made["files"].id)
    assert (files.paused, files.sleep_seconds) == (False, 300.0)

    again = app.assets.import_documents(org.admin, documents)
    assert [i.action for i in again.items] == ["unchanged"] * 3 and not again.applied


def test_secrets_are_masked_and_an_import_must_supply_them_to_create(org: People) -> None:
    app = org.app
    app.code_engine.set_secrets(org.admin, {"api_token": CODE_SECRET})
    s3 = app.pipeline_inputs.create(
        org.admin,
        name="archive",
        type="S3",
        configuration={"awsAccessKeyId": "AKIA1", "awsSecretAccessKey": S3_SECRET, "awsBucketName": "b1"},
    )
    [exported] = app.assets.export_all(org.admin, PIPELINE_KINDS)
    text = render(exported.document, "JSON")
    assert S3_SECRET not in text and CODE_SECRET not in text
    assert exported.document["pipeline_input"]["configuration"]["awsSecretAccessKey"] == MASK

    # Re-importing the masked value keeps the stored secret.
    document = copy.deepcopy(exported.document)
    document["pipeline_input"]["configuration"]["awsBucketName"] = "b2"
    report = app.assets.import_documents(org.admin, [document])
    assert report.ok and report.items[0].changes == ["configuration"]
    record = app.pipeline_inputs.get(org.admin, s3.id)
    assert record.configuration["awsBucketName"] == "b2"
    assert app.pipeline_inputs._secrets(record) == {"awsSecretAccessKey": S3_SECRET}
    # A masked value where no secret is stored would store the mask: refused.
    document["pipeline_input"]["configuration"]["password"] = MASK
    refused = app.assets.import_documents(org.admin, [document])
    assert isinstance(refused.items[0].error, InvalidInputError)
    assert refused.items[0].error.field == "pipeline_input.configuration.password"

    # Creating from the masked export is refused, with the field to fill in; nothing is written.
    other = new_organization(app)
    failed = app.assets.import_documents(other.admin, [exported.document])
    error = failed.items[0].error
    assert not failed.applied and isinstance(error, InvalidInputError)
    assert (
        error.field == "pipeline_input.configuration.awsSecretAccessKey" and "give its value" in error.reason
    )
    assert app.pipeline_inputs.list(other.admin) == []
    given = copy.deepcopy(exported.document)
    given["pipeline_input"]["configuration"]["awsSecretAccessKey"] = "another-secret"
    created = app.assets.import_documents(other.admin, [given])
    assert created.ok and created.applied
    [copy_of_s3] = app.pipeline_inputs.list(other.admin)
    assert app.pipeline_inputs._secrets(copy_of_s3) == {"awsSecretAccessKey": "another-secret"}
    assert copy_of_s3.configuration["awsSecretAccessKey"] == MASK


def test_an_event_type_refering_to_a_missing_input_fails_and_nothing_is_written(org: People) -> None:
    app = org.app
    documents = [
        {"guid": str(uuid.uuid4()), "code_module": {"name": "main", "code": TRANSFORM}},
        {
            "guid": str(uuid.uuid4()),
            "event_type": {
                "name": "orphans",
                "input": {"name": "nowhere", "fqn": str(uuid.uuid4())},
                "state": "MAPPED",
                "table": "orphans",
                "fields": [{"fieldName": "n", "mapping": _bigint("n")}],
            },
        },
        {
            "guid": str(uuid.uuid4()),
            "event_type": {
                "name": "broken",
                "table": "broken",
                "fields": [
                    {"fieldName": "g", "mapping": {"columnName": "g", "columnType": {"type": "GEOMETRY"}}}
                ],
            },
        },
        {"guid": str(uuid.uuid4()), "pipeline_input": {"name": "typo", "type": "REST", "pasued": True}},
        {
            "guid": str(uuid.uuid4()),
            "pipeline_input": {"name": "far", "type": "FILE", "configuration": {"path": "/"}},
        },
    ]
    report = app.assets.import_documents(org.admin, documents)
    assert not report.ok and not report.applied
    errors = [i.error for i in report.items]
    assert errors[0] is None
    assert isinstance(errors[1], InvalidInputError) and errors[1].field == "event_type.input"
    assert "no pipeline_input 'nowhere'" in str(errors[1])
    assert isinstance(errors[2], InvalidInputError)
    assert errors[2].field == "event_type.fields.g.mapping.columnType.type"
    assert isinstance(errors[3], InvalidInputError) and errors[3].field == "pipeline_input.pasued"
    assert isinstance(errors[4], InvalidInputError) and errors[4].field == "pipeline_input.configuration.path"
    assert app.code_engine.modules(org.admin) == []
    assert app.event_types.list(org.admin) == [] and app.pipeline_inputs.list(org.admin) == []


def test_only_those_who_manage_the_pipeline_import_and_other_organizations_cannot_export(
    org: People,
) -> None:
    app = org.app
    made = _pipeline(org)
    app.pipeline_inputs.remove(org.admin, made["files"].id)
    exported = app.assets.export_all(org.viewer, PIPELINE_KINDS)
    assert [e.name for e in exported] == ["main", "helpers", "web", "clicks"]  # removed inputs are not
    assert "token" not in json.dumps([e.document for e in exported])
    documents = [e.document for e in exported]
    with pytest.raises(PermissionDeniedError):
        app.assets.import_documents(org.viewer, documents)
    # An editor may import, but changing the pipeline needs the right to manage sources.
    changed = copy.deepcopy(documents)
    changed[1]["code_module"]["code"] = "def double(n):\n    return 0\n"
    report = app.assets.import_documents(org.editor, changed)
    assert not report.applied and isinstance(report.items[1].error, PermissionDeniedError)
    assert app.code_engine.module(org.admin, "helpers").code == HELPERS

    other = new_organization(app)
    for asset in exported:
        with pytest.raises(NotFoundError):
            app.assets.export(other.admin, [str(asset.guid)])
    assert app.assets.export_all(other.admin, PIPELINE_KINDS) == []
    # The handlers read through the services: another organization's ids are not found either.
    outsider = ExportContext(other.admin, app.assets.services, app.assets.kinds)
    ids = {
        "pipeline_input": made["web"].id,
        "event_type": app.event_types.get(org.admin, "clicks").id,
        "code_module": app.code_engine.module(org.admin, "main").id,
    }
    for kind, object_id in ids.items():
        with pytest.raises(NotFoundError):
            app.assets.kinds[kind].get(outsider, object_id)


def test_an_input_referred_to_by_name_is_the_live_one_when_a_removed_one_shares_it(org: People) -> None:
    app = org.app
    removed = app.pipeline_inputs.create(org.admin, name="web", type="REST", configuration={})
    app.pipeline_inputs.remove(org.admin, removed.id)
    live = app.pipeline_inputs.create(org.admin, name="web", type="REST", configuration={})
    document = {"guid": str(uuid.uuid4()), "event_type": {"name": "visits", "input": {"name": "web"}}}
    report = app.assets.import_documents(org.admin, [document])
    assert report.ok, [i.error for i in report.items]
    event_type = app.event_types.get(org.admin, "visits")
    assert event_type.input_id == live.id and event_type.state == "UNMAPPED"
