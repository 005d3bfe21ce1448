"""Shares enforced by the core services: a shared object reaches its author, admins and the members
of the groups it is shared with (also through nested groups), nobody else; lists leave out what the
caller may not see; READ_ONLY grantees read and run but do not change (a real app, both backends)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from openlytics.core.datasets.load_sources import LoadSource
from openlytics.core.errors import NotFoundError, PermissionDeniedError
from openlytics.core.principal import Principal
from tests.core.governance.conftest import People


@dataclass
class Readers:
    """A group shared with ("Readers") holds a nested group ("Team") with an editor and a viewer;
    the outsider, an editor too, is in no group."""

    org: People
    member: Principal
    viewer_member: Principal
    outsider: Principal
    group_id: int

    def share(self, kind: str, object_id: int, mode: str = "READ_ONLY") -> None:
        """The admin shares the object with the Readers group (NO_ACCESS removes the share)."""
        self.org.app.sharing.share(self.org.admin, kind, [object_id], {("team", self.group_id): mode})


def uid(principal: Principal) -> int:
    assert principal.user_id is not None
    return principal.user_id


@pytest.fixture
def readers(org: People) -> Readers:
    groups = org.app.groups
    outer, inner = groups.create(org.admin, "Readers"), groups.create(org.admin, "Team")
    groups.set_member_groups(org.admin, outer.id, [inner.id])
    member = org.user("member", "editor")
    groups.set_members(org.admin, inner.id, [uid(member), uid(org.viewer)])
    outsider = org.user("outsider", "editor")
    return Readers(org, org.again(member), org.again(org.viewer), outsider, outer.id)


def ids(page: Any) -> set[int]:
    return {item.id for item in page.items}


def check_restricted(
    readers: Readers,
    *,
    get: Callable[[Principal], Any],
    listed: Callable[[Principal], set[int]],
    change: Callable[[Principal], Any],
    object_id: int,
    changers: tuple[Principal, ...],
) -> None:
    """Grantees (nested too), author and admin get and list it; only `changers` change it; the
    outsider neither gets nor lists it."""
    org = readers.org
    for reader in (readers.member, readers.viewer_member, org.editor, org.admin):
        assert get(reader).id == object_id
        assert object_id in listed(reader)
    with pytest.raises(PermissionDeniedError):
        change(readers.member)
    with pytest.raises(PermissionDeniedError):
        change(readers.viewer_member)
    with pytest.raises(NotFoundError):
        get(readers.outsider)
    with pytest.raises(NotFoundError):
        change(readers.outsider)
    assert object_id not in listed(readers.outsider)
    for changer in changers:
        change(changer)


def test_a_shared_query_reaches_grantees_author_and_admins_only(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    query = app.queries.create(org.editor, name="secret", sql="SELECT 1 AS n")
    unshared = app.queries.create(org.editor, name="open", sql="SELECT 2 AS n")
    readers.share("query", query.id)
    check_restricted(
        readers,
        get=lambda p: app.queries.get(p, query.id),
        listed=lambda p: ids(app.queries.list(p, per_page=100)),
        change=lambda p: app.queries.update(p, query.id, description="changed"),
        object_id=query.id,
        changers=(org.editor, org.admin),
    )
    assert unshared.id in ids(app.queries.list(readers.outsider, per_page=100))
    assert app.queries.get(readers.outsider, unshared.id).id == unshared.id
    # Running it and reading its results need read access to the query.
    outcome = app.jobs.run_saved(readers.member, query.id, wait=30)
    assert outcome.result is not None
    assert app.jobs.get_result(readers.viewer_member, outcome.result.id).id == outcome.result.id
    with pytest.raises(NotFoundError):
        app.jobs.run_saved(readers.outsider, query.id, wait=30)
    with pytest.raises(NotFoundError):
        app.jobs.get_result(readers.outsider, outcome.result.id)
    with pytest.raises(NotFoundError):
        app.queries.fork(readers.outsider, query.id)
    assert app.queries.fork(readers.member, query.id).forked_from_id == query.id
    with pytest.raises(PermissionDeniedError):
        app.queries.archive(readers.member, query.id)
    assert app.queries.archive(org.admin, query.id).is_archived


def test_a_shared_visualization_and_the_charts_of_a_shared_query_are_hidden_from_outsiders(
    readers: Readers,
) -> None:
    org, app = readers.org, readers.org.app
    query = app.queries.create(org.editor, name="charted", sql="SELECT 1 AS n")
    chart = app.visualizations.create(org.editor, query_id=query.id, type="TABLE", name="chart")
    readers.share("visualization", chart.id)

    def listed(p: Principal) -> set[int]:
        return {v.id for v in app.visualizations.for_queries(p, [query.id])[query.id]}

    check_restricted(
        readers,
        get=lambda p: app.visualizations.get(p, chart.id),
        listed=listed,
        change=lambda p: app.visualizations.update(p, chart.id, name="renamed"),
        object_id=chart.id,
        changers=(org.editor, org.admin),
    )
    readers.share("visualization", chart.id, "NO_ACCESS")
    assert app.visualizations.get(readers.outsider, chart.id).id == chart.id
    readers.share("query", query.id)  # a chart draws its query's results: hidden with it
    with pytest.raises(NotFoundError):
        app.visualizations.get(readers.outsider, chart.id)
    with pytest.raises(NotFoundError):
        app.visualizations.delete(readers.outsider, chart.id)
    with pytest.raises(PermissionDeniedError):
        app.visualizations.delete(readers.member, chart.id)
    app.visualizations.delete(org.editor, chart.id)


def test_a_shared_dashboard_reaches_grantees_author_and_admins_only(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    board = app.dashboards.create(org.editor, name="secret board")
    unshared = app.dashboards.create(org.editor, name="open board")
    readers.share("dashboard", board.id)
    check_restricted(
        readers,
        get=lambda p: app.dashboards.get(p, board.id).dashboard,
        listed=lambda p: ids(app.dashboards.list(p, per_page=100)),
        change=lambda p: app.dashboards.update(p, board.id, name="renamed"),
        object_id=board.id,
        changers=(org.editor, org.admin),
    )
    with pytest.raises(NotFoundError):  # by slug too
        app.dashboards.get(readers.outsider, board.slug)
    with pytest.raises(PermissionDeniedError):
        app.dashboards.add_widget(readers.member, dashboard_id=board.id, text="note")
    with pytest.raises(PermissionDeniedError):
        app.dashboards.archive(readers.member, board.id)
    assert unshared.id in ids(app.dashboards.list(readers.outsider, per_page=100))
    readers.share("dashboard", board.id, "NO_ACCESS")  # the last share removed: open again
    assert app.dashboards.get(readers.outsider, board.id).dashboard.id == board.id
    assert board.id in ids(app.dashboards.list(readers.outsider, per_page=100))


def test_a_dashboard_leaves_out_the_widgets_of_queries_hidden_from_the_caller(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    secret = app.queries.create(org.editor, name="secret", sql="SELECT 1 AS n")
    public = app.queries.create(org.editor, name="public", sql="SELECT 2 AS n")
    board = app.dashboards.create(org.editor, name="mixed")
    charts = {q.id: app.visualizations.for_queries(org.editor, [q.id])[q.id][0].id for q in (secret, public)}
    for chart in charts.values():
        app.dashboards.add_widget(org.editor, dashboard_id=board.id, visualization_id=chart)
    note = app.dashboards.add_widget(org.editor, dashboard_id=board.id, text="read me")
    readers.share("query", secret.id)

    def shown(p: Principal) -> set[int | None]:
        return {
            w.visualization.id if w.visualization else None for w in app.dashboards.get(p, board.id).widgets
        }

    assert shown(readers.member) == {charts[secret.id], charts[public.id], None}
    assert shown(readers.outsider) == {charts[public.id], None}
    hidden = next(
        w.widget.id
        for w in app.dashboards.get(org.editor, board.id).widgets
        if w.query and w.query.id == secret.id
    )
    with pytest.raises(NotFoundError):
        app.dashboards.update_widget(readers.outsider, hidden, width=2)
    with pytest.raises(NotFoundError):  # nor place the chart of a query it may not see
        app.dashboards.add_widget(readers.outsider, dashboard_id=board.id, visualization_id=charts[secret.id])
    app.dashboards.update_widget(readers.outsider, note.widget.id, width=2)


def test_a_shared_dataset_reaches_grantees_author_and_admins_only(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    dataset = app.datasets.create(org.editor, name="secret_ds", columns=[{"name": "id", "type": "int64"}])
    unshared = app.datasets.create(org.editor, name="open_ds", columns=[{"name": "id", "type": "int64"}])
    app.datasets.append(org.editor, dataset.id, LoadSource.from_rows([{"id": 1}]))
    readers.share("dataset", dataset.id)
    check_restricted(
        readers,
        get=lambda p: app.datasets.get(p, dataset.id),
        listed=lambda p: ids(app.datasets.list(p, per_page=100)),
        change=lambda p: app.datasets.update_settings(p, dataset.id, description="changed"),
        object_id=dataset.id,
        changers=(org.editor, org.admin),
    )
    assert app.datasets.read(readers.viewer_member, dataset.id).read_all().num_rows == 1
    with pytest.raises(NotFoundError):
        app.datasets.read(readers.outsider, dataset.id)
    assert app.datasets.find_by_name(readers.outsider, "secret_ds") is None
    assert app.datasets.find_by_name(readers.member, "secret_ds") is not None
    with pytest.raises(PermissionDeniedError):
        app.datasets.append(readers.member, dataset.id, LoadSource.from_rows([{"id": 2}]))
    with pytest.raises(NotFoundError):
        app.datasets.append(readers.outsider, dataset.id, LoadSource.from_rows([{"id": 2}]))
    with pytest.raises(PermissionDeniedError):
        app.datasets.delete(readers.member, dataset.id)
    assert unshared.id in ids(app.datasets.list(readers.outsider, per_page=100))
    readers.share("dataset", dataset.id, "MODIFY")  # a MODIFY share lets the member editor write
    app.datasets.append(readers.member, dataset.id, LoadSource.from_rows([{"id": 2}]))
    app.datasets.delete(org.admin, dataset.id)


def test_a_shared_data_source_reaches_grantees_and_admins_only(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    source = app.sources.default(org.admin)
    readers.share("data_source", source.id)
    for reader in (readers.member, readers.viewer_member, org.admin):
        assert app.sources.get(reader, source.id).id == source.id
        assert source.id in ids(app.sources.list(reader))
    with pytest.raises(NotFoundError):
        app.sources.get(readers.outsider, source.id)
    with pytest.raises(NotFoundError):  # a data source has no author: the editor is an outsider
        app.sources.get(org.editor, source.id)
    assert source.id not in ids(app.sources.list(readers.outsider))
    with pytest.raises(PermissionDeniedError):
        app.sources.update(readers.member, source.id, name="renamed")
    assert app.sources.update(org.admin, source.id, name="warehouse2").name == "warehouse2"
    readers.share("data_source", source.id, "NO_ACCESS")
    assert app.sources.get(readers.outsider, source.id).id == source.id
    assert source.id in ids(app.sources.list(readers.outsider))


def test_a_shared_pipeline_input_reaches_grantees_and_admins_only(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    inputs = app.pipeline_inputs
    hook = inputs.create(org.admin, name="clicks", type="REST", configuration={})
    other = inputs.create(org.admin, name="open", type="REST", configuration={})
    readers.share("pipeline_input", hook.id)
    for reader in (readers.member, readers.viewer_member, org.admin):
        assert inputs.get(reader, hook.id).id == hook.id
        assert hook.id in {i.id for i in inputs.list(reader)}
    with pytest.raises(NotFoundError):
        inputs.get(readers.outsider, hook.id)
    with pytest.raises(NotFoundError):  # an input has no author: the editor is an outsider
        inputs.get(org.editor, hook.id)
    assert [i.id for i in inputs.list(readers.outsider)] == [other.id]
    with pytest.raises(PermissionDeniedError):  # read-only, and changing inputs is for admins
        inputs.set_paused(readers.member, hook.id, True)
    assert inputs.set_paused(org.admin, hook.id, True).paused
    assert app.sharing.access(readers.viewer_member, "pipeline_input", hook.id) == "READ_ONLY"
    readers.share("pipeline_input", hook.id, "NO_ACCESS")
    assert inputs.get(readers.outsider, hook.id).id == hook.id


def test_removing_the_last_share_opens_a_query_again(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    query = app.queries.create(org.editor, name="once secret", sql="SELECT 1 AS n")
    readers.share("query", query.id)
    app.sharing.share(org.editor, "query", [query.id], {("user", uid(readers.outsider)): "READ_ONLY"})
    assert app.queries.get(readers.outsider, query.id).id == query.id  # shared with them directly
    app.sharing.share(org.editor, "query", [query.id], {("user", uid(readers.outsider)): "NO_ACCESS"})
    with pytest.raises(NotFoundError):
        app.queries.get(readers.outsider, query.id)
    readers.share("query", query.id, "NO_ACCESS")
    assert app.queries.get(readers.outsider, query.id).id == query.id
    assert app.queries.update(readers.outsider, query.id, description="open to editors").version == 2


def test_principals_without_a_user_are_not_limited_by_shares(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    dataset = app.datasets.create(org.editor, name="pushed", columns=[{"name": "id", "type": "int64"}])
    readers.share("dataset", dataset.id)
    pusher, _ = app.datasets.resolve_push_token(app.datasets.push_token(org.editor, dataset.id))
    app.datasets.append(pusher, dataset.id, LoadSource.from_rows([{"id": 1}]))
    assert app.datasets.read(org.editor, dataset.id).read_all().num_rows == 1


def test_alerts_public_links_and_query_keys_follow_their_objects(readers: Readers) -> None:
    org, app = readers.org, readers.org.app
    query = app.queries.create(org.editor, name="watched", sql="SELECT 1 AS n")
    alert = app.alerts.create(
        org.editor, name="high", query_id=query.id, options={"column": "n", "op": ">", "value": 5}
    )
    board = app.dashboards.create(org.editor, name="linked")
    readers.share("query", query.id)
    readers.share("dashboard", board.id)
    # An alert shows its query's results: hidden with it, and none can be made on it.
    assert app.alerts.get(readers.member, alert.id).id == alert.id
    with pytest.raises(NotFoundError):
        app.alerts.get(readers.outsider, alert.id)
    assert alert.id not in {a.id for a in app.alerts.list(readers.outsider)}
    with pytest.raises(NotFoundError):
        app.alerts.create(
            readers.outsider, name="peek", query_id=query.id, options={"column": "n", "op": ">", "value": 0}
        )
    # A public link or a query key shares the object with anyone holding it: MODIFY access needed.
    with pytest.raises(NotFoundError):
        app.public_links.share(readers.outsider, board.id)
    with pytest.raises(PermissionDeniedError):
        app.public_links.share(readers.member, board.id)
    assert app.public_links.share(org.editor, board.id)
    with pytest.raises(NotFoundError):
        app.identity.create_query_key(readers.outsider, query.id)
    with pytest.raises(PermissionDeniedError):
        app.identity.create_query_key(readers.member, query.id)
    assert app.identity.create_query_key(org.editor, query.id).key
