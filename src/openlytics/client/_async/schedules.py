"""Schedules that refresh queries periodically."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from openlytics.client.models import Schedule, ScheduleRun

from .http import AsyncHTTP


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class AsyncSchedules:
    """`client.schedules`."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def list(self) -> AsyncIterator[Schedule]:
        """Every schedule of the organization."""
        async for item in self._http.paginate("/schedules"):
            yield Schedule.from_json(item)

    async def get(self, schedule_id: int) -> Schedule:
        """One schedule."""
        return Schedule.from_json(await self._http.request("GET", f"/schedules/{schedule_id}"))

    async def create(
        self,
        target_id: int,
        *,
        interval_seconds: int | None = None,
        cron: str | None = None,
        kind: str = "query_refresh",
        timezone: str | None = None,
        starts_at: datetime | str | None = None,
        until: datetime | str | None = None,
        enabled: bool = True,
        parameters: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> Schedule:
        """Refresh `target_id` every `interval_seconds` or on a `cron` expression."""
        fields: dict[str, Any] = {
            "kind": kind,
            "target_id": target_id,
            "interval_seconds": interval_seconds,
            "cron": cron,
            "timezone": timezone,
            "starts_at": _iso(starts_at),
            "until": _iso(until),
            "enabled": enabled,
            "payload": {"parameters": parameters} if parameters else None,
            "name": name,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        return Schedule.from_json(await self._http.request("POST", "/schedules", json=body))

    async def update(self, schedule_id: int, **fields: Any) -> Schedule:
        """Change any of the fields `create` accepts (`enabled=False` pauses it)."""
        body = {k: _iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        return Schedule.from_json(await self._http.request("PATCH", f"/schedules/{schedule_id}", json=body))

    async def delete(self, schedule_id: int) -> None:
        """Delete a schedule."""
        await self._http.request("DELETE", f"/schedules/{schedule_id}")

    async def trigger(self, schedule_id: int) -> ScheduleRun:
        """Fire the schedule now, outside its timetable."""
        data = await self._http.request("POST", f"/schedules/{schedule_id}/trigger")
        return ScheduleRun.from_json(data)

    async def runs(self, schedule_id: int) -> AsyncIterator[ScheduleRun]:
        """The schedule's past firings."""
        async for item in self._http.paginate(f"/schedules/{schedule_id}/runs"):
            yield ScheduleRun.from_json(item)
