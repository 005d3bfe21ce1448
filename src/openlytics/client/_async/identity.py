"""Organizations, users and API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from openlytics.client.models import ApiKey, Organization, OrganizationCreated, User

from .http import AsyncHTTP


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class AsyncOrganizations:
    """`client.organizations`: the caller's organization, and creating new ones (superadmins)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def current(self) -> Organization:
        """The caller's organization."""
        return Organization.from_json(await self._http.request("GET", "/organization"))

    async def create(
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
        data = await self._http.request(
            "POST", "/organizations", json={k: v for k, v in body.items() if v is not None}
        )
        return OrganizationCreated.from_json(data)


class AsyncUsers:
    """`client.users`: the organization's users (admins only, except reading)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self) -> AsyncIterator[User]:
        """Every user of the organization."""
        async for item in self._http.paginate("/users"):
            yield User.from_json(item)

    async def get(self, user_id: int) -> User:
        """One user."""
        return User.from_json(await self._http.request("GET", f"/users/{user_id}"))

    async def create(self, email: str, name: str, role: str = "viewer", password: str | None = None) -> User:
        """Add a user with role `admin`, `editor` or `viewer`."""
        body: dict[str, Any] = {"email": email, "name": name, "role": role}
        if password is not None:
            body["password"] = password
        return User.from_json(await self._http.request("POST", "/users", json=body))

    async def update(
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
        return User.from_json(await self._http.request("PATCH", f"/users/{user_id}", json=body))

    async def disable(self, user_id: int) -> User:
        """Disable a user: their keys and sessions stop working."""
        return await self.update(user_id, is_disabled=True)

    async def enable(self, user_id: int) -> User:
        """Re-enable a disabled user."""
        return await self.update(user_id, is_disabled=False)

    async def delete(self, user_id: int) -> None:
        """Delete a user with their keys, sessions and team memberships (`disable` only stops access)."""
        await self._http.request("DELETE", f"/users/{user_id}")


class AsyncApiKeys:
    """`client.api_keys`: the caller's API keys (admins may manage anyone's)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self, user_id: int | None = None) -> AsyncIterator[ApiKey]:
        """The caller's keys, or `user_id`'s (admins)."""
        async for item in self._http.paginate("/api-keys", {"user_id": user_id}):
            yield ApiKey.from_json(item)

    async def create(
        self, name: str, *, user_id: int | None = None, expires_at: datetime | str | None = None
    ) -> ApiKey:
        """Create a key; its secret is in `.key` of this answer and never shown again."""
        body: dict[str, Any] = {"name": name}
        if user_id is not None:
            body["user_id"] = user_id
        if expires_at is not None:
            body["expires_at"] = _iso(expires_at)
        return ApiKey.from_json(await self._http.request("POST", "/api-keys", json=body))

    async def create_for_query(self, query_id: int, name: str | None = None) -> ApiKey:
        """Create a key that may only run and read `query_id`; the secret is in `.key`, once."""
        body = {"name": name} if name is not None else {}
        return ApiKey.from_json(await self._http.request("POST", f"/queries/{query_id}/api-keys", json=body))

    async def revoke(self, key_id: int) -> None:
        """Revoke a key."""
        await self._http.request("DELETE", f"/api-keys/{key_id}")
