# Generated from _async/identity.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Organizations, users and API keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openlytics.client.models import ApiKey, Organization, OrganizationCreated, User

from .http import HTTP


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class Organizations:
    """`client.organizations`: the caller's organization, and creating new ones (superadmins)."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def current(self) -> Organization:
        """The caller's organization."""
        return Organization.from_json(self._http.request("GET", "/organization"))

    def create(
        self,
        name: str,
        admin_email: str,
        *,
        slug: str | None = None,
        admin_name: str | None = None,
        admin_password: str | None = None,
        warehouse: str | None = None,
    ) -> OrganizationCreated:
        """Create an organization with its first admin; the answer holds the admin's API key once.

        `warehouse` is "embedded" or "postgresql" (default: PostgreSQL when the server has one).
        """
        body = {
            "name": name,
            "slug": slug,
            "admin_email": admin_email,
            "admin_name": admin_name,
            "admin_password": admin_password,
            "warehouse": warehouse,
        }
        data = self._http.request(
            "POST", "/organizations", json={k: v for k, v in body.items() if v is not None}
        )
        return OrganizationCreated.from_json(data)


class Users:
    """`client.users`: the organization's users (admins only, except reading)."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self) -> Iterator[User]:
        """Every user of the organization."""
        for item in self._http.paginate("/users"):
            yield User.from_json(item)

    def get(self, user_id: int) -> User:
        """One user."""
        return User.from_json(self._http.request("GET", f"/users/{user_id}"))

    def create(self, email: str, name: str, role: str = "viewer", password: str | None = None) -> User:
        """Add a user with role `admin`, `editor` or `viewer`."""
        body: dict[str, Any] = {"email": email, "name": name, "role": role}
        if password is not None:
            body["password"] = password
        return User.from_json(self._http.request("POST", "/users", json=body))

    def update(
        self,
        user_id: int,
        *,
        name: str | None = None,
        role: str | None = None,
        password: str | None = None,
        is_disabled: bool | None = None,
    ) -> User:
        """Change the given fields of a user."""
        fields = {"name": name, "role": role, "password": password, "is_disabled": is_disabled}
        body = {k: v for k, v in fields.items() if v is not None}
        return User.from_json(self._http.request("PATCH", f"/users/{user_id}", json=body))

    def disable(self, user_id: int) -> User:
        """Disable a user: their keys and sessions stop working."""
        return self.update(user_id, is_disabled=True)

    def enable(self, user_id: int) -> User:
        """Re-enable a disabled user."""
        return self.update(user_id, is_disabled=False)

    def delete(self, user_id: int) -> None:
        """Delete a user with their keys, sessions and team memberships (`disable` only stops access)."""
        self._http.request("DELETE", f"/users/{user_id}")


class ApiKeys:
    """`client.api_keys`: the caller's API keys (admins may manage anyone's)."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def list(self, user_id: int | None = None) -> Iterator[ApiKey]:
        """The caller's keys, or `user_id`'s (admins)."""
        for item in self._http.paginate("/api-keys", {"user_id": user_id}):
            yield ApiKey.from_json(item)

    def create(
        self, name: str, *, user_id: int | None = None, expires_at: datetime | str | None = None
    ) -> ApiKey:
        """Create a key; its secret is in `.key` of this answer and never shown again."""
        body: dict[str, Any] = {"name": name}
        if user_id is not None:
            body["user_id"] = user_id
        if expires_at is not None:
            body["expires_at"] = _iso(expires_at)
        return ApiKey.from_json(self._http.request("POST", "/api-keys", json=body))

    def create_for_query(self, query_id: int, name: str | None = None) -> ApiKey:
        """Create a key that may only run and read `query_id`; the secret is in `.key`, once."""
        body = {"name": name} if name is not None else {}
        return ApiKey.from_json(self._http.request("POST", f"/queries/{query_id}/api-keys", json=body))

    def revoke(self, key_id: int) -> None:
        """Revoke a key."""
        self._http.request("DELETE", f"/api-keys/{key_id}")
