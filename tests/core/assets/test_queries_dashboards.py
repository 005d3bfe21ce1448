"""Export and import of queries (with visualizations), dashboards and data sources through the
core: round trips, updates by guid, plans, validation and all-or-nothing imports."""

from __future__ import annotations

import copy
import uuid

import pytest

from openlytics.core.assets.documents import parse_texts, render
from openlytics.core.errors import InvalidInputError, PermissionDeniedError
from openlytics.store.models import Dashboard, Query
from tests.core.governance.conftest import People, new_organization


def _board(org: People) -> tuple[int, int]:
    app = org.app
    query = app.queries.create(org.editor, name="revenue", sql="SELECT 1 AS n, 'x' AS region", tags=["sales"])
    chart = app.visualizations.create(org.editor, query_id=query.id, type="CHART", name="by region")
    board = app.dashboards.create(org.editor, name="Sales board")
    app.dashboards.add_widget(org.editor, dashboard_id=board.id, visualization_id=chart.id, width=2)
    app.dashboards.add_widget(org.editor, dashboard_id=board.id, text="## Notes")
    return query.id, board.id


def test_a_dashboard_exports_with_its_queries_and_source_and_imports_into_another_org(org: People) -> None:
    app = org.app
    _, board_id = _board(org)
    board = app.dashboards.get(org.editor, board_id).dashboard
    exported = app.assets.export(org.editor, [str(board.uuid)], associated=True)
    assert [e.kind for e in exported] == ["dashboard", "query", "data_source"]
    widgets = exported[0].document["dashboard"]["widgets"]
    assert widgets[0]["visualization"]["name"] == "by region"
    assert widgets[0]["visualization"]["query"]["name"] == "revenue"
    assert "fqn" in widgets[0]["visualization"]
    assert widgets[1]["text"] == "## Notes"
    text = "---\n".join(render(e.document) for e in exported)

    other = new_organization(app)
    report = app.assets.import_documents(other.editor, parse_texts(text))
    assert report.ok, [i.error for i in report.items]
    assert report.applied
    assert [i.action for i in report.items] == ["create", "create", "update"] or [
        i.action for i in report.items
    ] == ["create", "create", "unchanged"]
    imported = app.dashboards.get(other.editor, str(report.items[0].guid))
    assert imported.dashboard.name == "Sales board"
    assert [p.visualization.name if p.visualization else p.widget.text for p in imported.widgets] == [
        "by region",
        "## Notes",
    ]
    query = imported.widgets[0].query
    assert query is not None and query.org_id == other.admin.org_id and query.tags == ["sales"]
    # Guids of another organization are never reused: the objects got new ones.
    assert imported.dashboard.uuid != board.uuid


def test_reimporting_a_changed_document_updates_by_guid_and_the_plan_says_what_changes(org: People) -> None:
    app = org.app
    query_id, _ = _board(org)
    query = app.queries.get(org.editor, query_id)
    [exported] = app.assets.export(org.editor, [str(query.uuid)])
    document = copy.deepcopy(exported.document)
    document["query"]["sql"] = "SELECT 2 AS n, 'y' AS region"
    document["query"]["visualizations"].append({"name": "counter", "type": "COUNTER", "options": {}})

    plan = app.assets.import_documents(org.editor, [document], apply=False)
    assert plan.ok and not plan.applied
    assert plan.items[0].action == "update"
    assert set(plan.items[0].changes) == {"sql", "visualizations"}
    assert app.queries.get(org.editor, query_id).sql == "SELECT 1 AS n, 'x' AS region"  # plan wrote nothing

    report = app.assets.import_documents(org.editor, [document])
    assert report.ok and report.applied and report.items[0].guid == query.uuid
    assert app.queries.get(org.editor, query_id).sql == "SELECT 2 AS n, 'y' AS region"
    names = [v.name for v in app.visualizations.for_queries(org.editor, [query_id])[query_id]]
    assert sorted(names) == ["Table", "by region", "counter"]

    again = app.assets.import_documents(org.editor, [document])
    assert again.items[0].action == "unchanged" and not again.applied


def test_create_new_makes_copies_with_new_guids(org: People) -> None:
    app = org.app
    _, board_id = _board(org)
    guid = str(app.dashboards.get(org.editor, board_id).dashboard.uuid)
    documents = [e.document for e in app.assets.export(org.editor, [guid], associated=True)]
    report = app.assets.import_documents(org.editor, documents, create_new=True)
    assert report.ok
    assert str(report.items[0].guid) != guid
    copy_board = app.dashboards.get(org.editor, str(report.items[0].guid))
    original = app.dashboards.get(org.editor, guid)
    # The copy shows the copied query's chart, not the original's.
    assert copy_board.widgets[0].visualization is not None and original.widgets[0].visualization is not None
    assert copy_board.widgets[0].visualization.id != original.widgets[0].visualization.id


def test_a_broken_reference_fails_the_import_and_changes_nothing(org: People) -> None:
    app = org.app
    with app.db.session() as s:
        before = (s.query(Query).count(), s.query(Dashboard).count())
    documents = [
        {"guid": str(uuid.uuid4()), "query": {"name": "fine", "sql": "SELECT 1"}},
        {
            "guid": str(uuid.uuid4()),
            "dashboard": {
                "name": "broken",
                "widgets": [{"visualization": {"name": "nope", "query": {"name": "no such query"}}}],
            },
        },
        {"guid": "not-a-guid", "query": {"name": "x", "sql": "SELECT 1"}},
        {"guid": str(uuid.uuid4()), "query": {"name": "typo", "sql": "SELECT 1", "sqll": "?"}},
    ]
    report = app.assets.import_documents(org.editor, documents)
    assert not report.ok and not report.applied
    assert report.items[0].ok
    errors = [i.error for i in report.items]
    assert isinstance(errors[1], InvalidInputError) and "no query 'no such query'" in str(errors[1])
    assert isinstance(errors[2], InvalidInputError) and "not a guid" in str(errors[2])
    assert isinstance(errors[3], InvalidInputError) and "sqll" in str(errors[3])
    with app.db.session() as s:
        assert (s.query(Query).count(), s.query(Dashboard).count()) == before

    partial = app.assets.import_documents(org.editor, documents, partial=True)
    assert partial.applied and [i.ok for i in partial.items] == [True, False, False, False]
    assert app.queries.get(org.editor, _id(app, Query, partial.items[0].guid)).name == "fine"


def test_a_document_referring_to_a_failed_one_fails_too(org: People) -> None:
    documents = [
        {"guid": str(uuid.uuid4()), "query": {"name": "bad", "sql": "SELECT {{ missing }}"}},
        {
            "guid": str(uuid.uuid4()),
            "dashboard": {"name": "b", "widgets": [{"visualization": {"name": "Table", "query": "bad"}}]},
        },
    ]
    report = org.app.assets.import_documents(org.editor, documents, apply=False)
    assert not report.items[0].ok
    assert "which failed" in str(report.items[1].error)


def test_a_viewer_can_export_but_not_import(org: People) -> None:
    query_id, _ = _board(org)
    guid = str(org.app.queries.get(org.editor, query_id).uuid)
    [exported] = org.app.assets.export(org.viewer, [guid])
    with pytest.raises(PermissionDeniedError):
        org.app.assets.import_documents(org.viewer, [exported.document])
    other = new_organization(org.app)
    with pytest.raises(Exception, match="not found"):
        org.app.assets.export(other.admin, [guid])


def test_permissions_travel_with_the_document(org: People) -> None:
    app = org.app
    query_id, _ = _board(org)
    assert org.viewer.user_id is not None
    app.sharing.share(org.editor, "query", [query_id], {("user", org.viewer.user_id): "READ_ONLY"})
    guid = str(app.queries.get(org.editor, query_id).uuid)
    [exported] = app.assets.export(org.editor, [guid], permissions=True)
    entries = exported.document["query"]["permissions"]
    viewer_email = app.identity.get_user(org.admin, org.viewer.user_id).email
    assert entries == [{"principal": {"type": "user", "name": viewer_email}, "mode": "READ_ONLY"}]
    document = copy.deepcopy(exported.document)
    document["query"]["permissions"][0]["mode"] = "MODIFY"
    report = app.assets.import_documents(org.editor, [document])
    assert report.items[0].changes == ["permissions"]
    assert app.sharing.defined(org.editor, "query", query_id) == {("user", org.viewer.user_id): "MODIFY"}


def _id(app, model, guid) -> int:  # type: ignore[no-untyped-def]
    with app.db.session() as s:
        return s.query(model).filter(model.uuid == guid).one().id
