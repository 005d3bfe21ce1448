"""Teams: CRUD, membership, parameters, and the rows their parameters let members read (real app)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openlytics.app import Openlytics
from openlytics.core.datasets.structured_model import Condition
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.principal import Principal, Role
from openlytics.store.models import Dataset, User
from tests.conftest import make_settings

COLUMNS = [
    {"name": "id", "type": "int64"},
    {"name": "region", "type": "string"},
    {"name": "sales", "type": "int64"},
]
BY_REGION = {
    "select": ["region", {"name": "sales", "agg_function": "sum"}],
    "order_by": [{"name": "region", "direction": "asc"}],
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def system(app: Openlytics) -> Principal:
    return Principal.system(app.identity.organizations()[0].id)


def as_user(user: User) -> Principal:
    return Principal(org_id=user.org_id, user_id=user.id, role=Role(user.role), credential="user_key")


@pytest.fixture
def admin(app: Openlytics, system: Principal) -> Principal:
    return as_user(app.identity.create_user(system, email="boss@example.test", name="Boss", role="admin"))


@pytest.fixture
def viewer(app: Openlytics, system: Principal) -> Principal:
    return as_user(app.identity.create_user(system, email="view@example.test", name="View", role="viewer"))


@pytest.fixture
def dataset(app: Openlytics, system: Principal) -> Dataset:
    for statement in (
        "CREATE TABLE ds_teams_v1 (id BIGINT, region VARCHAR, sales BIGINT)",
        "INSERT INTO ds_teams_v1 VALUES (1, 'EU', 10), (2, 'US', 20), (3, 'APAC', 30), (4, 'EU', 5)",
    ):
        outcome = app.jobs.run_adhoc(system, statement, wait=10)
        assert outcome.result is not None, outcome.job and outcome.job.error
    warehouse = app.sources.default(system)
    with app.db.session() as s:
        row = Dataset(
            org_id=system.org_id,
            data_source_id=warehouse.id,
            name="sales",
            table_name="ds_teams_v1",
            columns=COLUMNS,
        )
        s.add(row)
    return row


def regions_read(app: Openlytics, principal: Principal, dataset: Dataset) -> list[str]:
    return sorted(app.datasets.read(principal, dataset.id).read_all().column("region").to_pylist())


def test_crud_and_validation(app: Openlytics, admin: Principal, viewer: Principal) -> None:
    teams = app.teams
    sales = teams.create(admin, name=" Sales ", description="EU sales", parameters={"region": "EU"})
    assert (sales.name, sales.description, sales.parameters) == ("Sales", "EU sales", {"region": ["EU"]})
    teams.create(admin, name="Audit")
    assert [t.name for t in teams.list(viewer)] == ["Audit", "Sales"]
    with pytest.raises(ConflictError):
        teams.create(admin, name="Sales")
    with pytest.raises(ConflictError):
        teams.update(admin, sales.id, name="Audit")
    with pytest.raises(InvalidInputError):
        teams.create(admin, name="  ")
    with pytest.raises(PermissionDeniedError):
        teams.create(viewer, name="Mine")
    renamed = teams.update(admin, sales.id, name="Sales EU", description="Europe")
    assert (renamed.name, renamed.description) == ("Sales EU", "Europe")
    assert teams.get(viewer, sales.id).name == "Sales EU"
    teams.delete(admin, sales.id)
    with pytest.raises(NotFoundError):
        teams.get(admin, sales.id)


def test_membership_and_parameters(app: Openlytics, admin: Principal, viewer: Principal) -> None:
    teams = app.teams
    team = teams.create(admin, name="Sales")
    assert viewer.user_id is not None
    teams.add_member(admin, team.id, viewer.user_id)
    teams.add_member(admin, team.id, viewer.user_id)  # idempotent
    assert [u.id for u in teams.members(admin, team.id)] == [viewer.user_id]
    assert [t.id for t in teams.teams_of(admin, viewer.user_id)] == [team.id]
    assert teams.member_ids(admin, [team.id]) == {team.id: [viewer.user_id]}
    with pytest.raises(NotFoundError):
        teams.add_member(admin, team.id, 999_999)
    with pytest.raises(PermissionDeniedError):
        teams.add_member(viewer, team.id, viewer.user_id)

    assert teams.set_parameter(admin, team.id, "region", ["EU", "US", "EU"]).parameters == {
        "region": ["EU", "US"]
    }
    assert teams.set_parameter(admin, team.id, "year", 2024).parameters["year"] == [2024]
    for bad in ([], [{"x": 1}], None):
        with pytest.raises(InvalidInputError):
            teams.set_parameter(admin, team.id, "region", bad)
    assert teams.remove_parameter(admin, team.id, "year").parameters == {"region": ["EU", "US"]}
    with pytest.raises(NotFoundError):
        teams.remove_parameter(admin, team.id, "year")

    teams.remove_member(admin, team.id, viewer.user_id)
    assert teams.members(admin, team.id) == []
    with pytest.raises(NotFoundError):
        teams.remove_member(admin, team.id, viewer.user_id)


def test_another_organization_cannot_see_or_change_a_team(app: Openlytics, admin: Principal) -> None:
    team = app.teams.create(admin, name="Sales")
    superadmin = Principal(
        org_id=admin.org_id, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True
    )
    other = app.identity.create_organization(superadmin, name="Other", admin_email="a@other.test")
    outsider = as_user(other.admin)
    assert app.teams.list(outsider) == []
    for attempt in (
        lambda: app.teams.get(outsider, team.id),
        lambda: app.teams.update(outsider, team.id, name="Mine"),
        lambda: app.teams.delete(outsider, team.id),
        lambda: app.teams.add_member(outsider, team.id, other.admin.id),
        lambda: app.teams.set_parameter(outsider, team.id, "region", ["US"]),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    # Nor can a team take in a user of another organization.
    with pytest.raises(NotFoundError):
        app.teams.add_member(admin, team.id, other.admin.id)


def test_row_filters_union_teams_and_ignore_unknown_columns(
    app: Openlytics, system: Principal, admin: Principal, viewer: Principal, dataset: Dataset
) -> None:
    assert viewer.user_id is not None and admin.user_id is not None
    eu = app.teams.create(admin, name="EU", parameters={"region": ["EU"], "country": ["FR"]})
    us = app.teams.create(admin, name="US", parameters={"region": ["US", "EU"]})
    for team in (eu, us):
        app.teams.add_member(admin, team.id, viewer.user_id)
        app.teams.add_member(admin, team.id, admin.user_id)
    assert app.teams.row_filters(viewer, dataset) == [Condition("region", "in", ("EU", "US"))]
    assert app.teams.row_filters(admin, dataset) == []
    assert app.teams.row_filters(system, dataset) == []
    assert app.teams.row_filters(Principal.public(system.org_id), dataset) == []


@pytest.mark.duckdb_warehouse  # the fixture registers a table made by SQL, without the row column
def test_members_read_only_their_rows_by_read_and_by_structured_query(
    app: Openlytics, system: Principal, admin: Principal, viewer: Principal, dataset: Dataset
) -> None:
    assert viewer.user_id is not None
    assert regions_read(app, viewer, dataset) == ["APAC", "EU", "EU", "US"]  # in no team: everything

    team = app.teams.create(admin, name="EU", parameters={"region": ["EU"]})
    app.teams.add_member(admin, team.id, viewer.user_id)
    assert regions_read(app, viewer, dataset) == ["EU", "EU"]
    assert regions_read(app, admin, dataset) == ["APAC", "EU", "EU", "US"]

    # The admin's result is cached first; the viewer, filtered, must not be served it.
    everything = app.structured_queries.run(admin, dataset, BY_REGION, wait=10)
    assert everything.data == [["APAC", 30], ["EU", 15], ["US", 20]]
    filtered = app.structured_queries.run(viewer, dataset, BY_REGION, max_age=-1, wait=10)
    assert filtered.data == [["EU", 15]]

    # A second team widens what the viewer reads; a parameter naming no column filters nothing.
    other = app.teams.create(admin, name="US", parameters={"region": ["US"], "colour": ["red"]})
    app.teams.add_member(admin, other.id, viewer.user_id)
    assert regions_read(app, viewer, dataset) == ["EU", "EU", "US"]
    widened = app.structured_queries.run(viewer, dataset, BY_REGION, max_age=-1, wait=10)
    assert widened.data == [["EU", 15], ["US", 20]]

    app.teams.remove_parameter(admin, team.id, "region")
    app.teams.remove_parameter(admin, other.id, "region")
    assert regions_read(app, viewer, dataset) == ["APAC", "EU", "EU", "US"]


def test_delete_user_and_its_guards(
    app: Openlytics, system: Principal, admin: Principal, viewer: Principal
) -> None:
    assert viewer.user_id is not None and admin.user_id is not None
    team = app.teams.create(admin, name="Sales")
    app.teams.add_member(admin, team.id, viewer.user_id)
    app.identity.create_api_key(admin, name="k", user_id=viewer.user_id)

    with pytest.raises(PermissionDeniedError):
        app.identity.delete_user(viewer, admin.user_id)
    with pytest.raises(InvalidInputError):
        app.identity.delete_user(admin, admin.user_id)
    app.identity.delete_user(admin, viewer.user_id)
    with pytest.raises(NotFoundError):
        app.identity.get_user(admin, viewer.user_id)
    assert app.teams.members(admin, team.id) == []
    with pytest.raises(NotFoundError):
        app.identity.delete_user(admin, viewer.user_id)

    # The bootstrap superadmin cannot be deleted; nor can the last enabled admin of an organization.
    superadmin_id = next(
        u.id for u in app.identity.list_users(system, page=1, per_page=100).items if u.is_superadmin
    )
    with pytest.raises(ConflictError):
        app.identity.delete_user(admin, superadmin_id)
    superadmin = Principal(
        org_id=admin.org_id, user_id=superadmin_id, role=Role.ADMIN, credential="user_key", is_superadmin=True
    )
    other = app.identity.create_organization(superadmin, name="Other", admin_email="a@other.test")
    second = app.identity.create_user(as_user(other.admin), email="b@other.test", name="B", role="admin")
    app.identity.update_user(as_user(other.admin), second.id, is_disabled=True)
    with pytest.raises(ConflictError, match="last enabled admin"):
        app.identity.delete_user(as_user(second), other.admin.id)
    # Across organizations a user is not found.
    with pytest.raises(NotFoundError):
        app.identity.delete_user(admin, other.admin.id)


@pytest.mark.duckdb_warehouse  # the fixture registers a table made by SQL, without the row column
def test_a_member_reads_nothing_rather_than_everything_when_the_filter_cannot_apply(
    app: Openlytics, admin: Principal, viewer: Principal, dataset: Dataset
) -> None:
    assert viewer.user_id is not None
    team = app.teams.create(admin, name="Typed", parameters={"sales": ["ten", 10]})
    app.teams.add_member(admin, team.id, viewer.user_id)
    # "ten" cannot be a BIGINT: it is skipped, 10 still applies.
    assert regions_read(app, viewer, dataset) == ["EU"]
    app.teams.set_parameter(admin, team.id, "sales", ["ten"])
    assert regions_read(app, viewer, dataset) == []
