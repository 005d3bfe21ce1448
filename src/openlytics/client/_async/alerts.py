"""Alerts on query results, their subscriptions, and notification destinations."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import Any

from openlytics.client.models import Alert, AlertSubscription, Destination

from .http import AsyncHTTP

UPDATABLE_FIELDS = frozenset({"name", "query_id", "options", "rearm", "muted"})


class AsyncAlerts:
    """`client.alerts`."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self) -> AsyncIterator[Alert]:
        """Every alert of the organization."""
        async for item in self._http.paginate("/alerts"):
            yield Alert.from_json(item)

    async def get(self, alert_id: int) -> Alert:
        """One alert."""
        return Alert.from_json(await self._http.request("GET", f"/alerts/{alert_id}"))

    async def create(
        self, name: str, query_id: int, options: dict[str, Any], *, rearm: int | None = None
    ) -> Alert:
        """Alert when the first row of `query_id`'s result meets `options` ({"column", "op", "value"}).

        `op` is one of `>`, `>=`, `<`, `<=`, `==`, `!=`; `rearm` (s) repeats a notification while the
        alert stays triggered. The caller is subscribed by e-mail.
        """
        body: dict[str, Any] = {"name": name, "query_id": query_id, "options": options}
        if rearm is not None:
            body["rearm"] = rearm
        return Alert.from_json(await self._http.request("POST", "/alerts", json=body))

    async def update(self, alert_id: int, **fields: Any) -> Alert:
        """Change any of `name`, `query_id`, `options`, `rearm`, `muted`."""
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise TypeError(f"unknown alert fields: {', '.join(sorted(unknown))}")
        return Alert.from_json(await self._http.request("PATCH", f"/alerts/{alert_id}", json=fields))

    async def delete(self, alert_id: int) -> None:
        """Delete an alert."""
        await self._http.request("DELETE", f"/alerts/{alert_id}")

    async def subscriptions(self, alert_id: int) -> builtins.list[AlertSubscription]:
        """Who hears of an alert."""
        return [
            AlertSubscription.from_json(item)
            async for item in self._http.paginate(f"/alerts/{alert_id}/subscriptions")
        ]

    async def subscribe(self, alert_id: int, destination_id: int | None = None) -> AlertSubscription:
        """Subscribe a destination, or the caller (by e-mail) when `destination_id` is None."""
        body = {"destination_id": destination_id} if destination_id is not None else {}
        data = await self._http.request("POST", f"/alerts/{alert_id}/subscriptions", json=body)
        return AlertSubscription.from_json(data)

    async def unsubscribe(self, alert_id: int, subscription_id: int) -> None:
        """Remove a subscription."""
        await self._http.request("DELETE", f"/alerts/{alert_id}/subscriptions/{subscription_id}")


class AsyncDestinations:
    """`client.destinations`: where alerts notify (admins create and delete them)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self) -> AsyncIterator[Destination]:
        """Every destination of the organization."""
        async for item in self._http.paginate("/destinations"):
            yield Destination.from_json(item)

    async def get(self, destination_id: int) -> Destination:
        """One destination."""
        return Destination.from_json(await self._http.request("GET", f"/destinations/{destination_id}"))

    async def create(self, name: str, kind: str, options: dict[str, Any]) -> Destination:
        """An `email` list (`{"addresses": [...]}`) or a `webhook` (`{"url", "username"?, "password"?}`)."""
        body = {"name": name, "kind": kind, "options": options}
        return Destination.from_json(await self._http.request("POST", "/destinations", json=body))

    async def delete(self, destination_id: int) -> None:
        """Delete a destination and the subscriptions to it."""
        await self._http.request("DELETE", f"/destinations/{destination_id}")
