"""Fixtures for the governance tests: one real app per metadata backend, a fresh organization per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from openlytics.app import Openlytics
from openlytics.core.principal import Principal, Role
from openlytics.store.models import User
from tests.conftest import METADATA_BACKENDS, make_settings


@pytest.fixture(scope="module", params=METADATA_BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Openlytics]:
    """A started application (no HTTP) on SQLite, then on PostgreSQL metadata."""
    data_dir = tmp_path_factory.mktemp(f"governance-{request.param}") / "data"
    settings, databases = make_settings(data_dir, request.param, scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        core.db.dispose()
        databases.drop()


@dataclass
class People:
    """A fresh organization: its admin and a few users, each as an authenticated principal."""

    app: Openlytics
    admin: Principal
    editor: Principal
    viewer: Principal
    other_viewer: Principal

    def user(self, name: str, role: str = "viewer") -> Principal:
        """Another user of the organization, authenticated."""
        created = self.app.identity.create_user(
            self.admin, email=f"{name}-{uuid.uuid4().hex[:6]}@example.test", name=name, role=role
        )
        return login(self.app, created)

    def again(self, principal: Principal) -> Principal:
        """The same user authenticated again (their groups and privileges read afresh)."""
        assert principal.user_id is not None
        return login(self.app, self.app.identity.get_user(self.admin, principal.user_id))


def login(app: Openlytics, user: User) -> Principal:
    """Authenticate `user` through an API key, as every request does."""
    itself = Principal(org_id=user.org_id, user_id=user.id, role=Role(user.role), credential="user_key")
    issued = app.identity.create_api_key(itself, name="t")
    return app.identity.authenticate_api_key(issued.key)


def new_organization(app: Openlytics) -> People:
    """An organization with an admin, an editor and two viewers."""
    root = app.identity.organizations()[0]
    superadmin = Principal(
        org_id=root.id, user_id=None, role=Role.ADMIN, credential="system", is_superadmin=True
    )
    slug = f"gov-{uuid.uuid4().hex[:10]}"
    created = app.identity.create_organization(superadmin, name=slug, admin_email=f"admin@{slug}.test")
    admin = login(app, created.admin)
    people = People(app, admin, admin, admin, admin)
    people.editor = people.user("editor", "editor")
    people.viewer = people.user("viewer")
    people.other_viewer = people.user("other")
    return people


@pytest.fixture
def org(app: Openlytics) -> People:
    """A fresh organization of the shared app."""
    return new_organization(app)
