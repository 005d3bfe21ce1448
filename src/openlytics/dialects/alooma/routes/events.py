"""Loaded events per table (`events/loaded-events-per-table/summary`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.alooma.dispatch import Call, Routes
from openlytics.store.types import utcnow

routes = Routes()
WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The vendor's precision of `last`, by its age: SECOND for the last 2 hours, MINUTE for the last 4
# days, HOUR for the last 31 days, DAY before. The core counts loads per minute, so MINUTE at best.
PRECISIONS = ((timedelta(days=4), "MINUTE"), (timedelta(days=31), "HOUR"))


@routes.get("events/loaded-events-per-table/summary")
def get_loaded_events_per_table_summary(call: Call) -> list[dict[str, Any]]:
    """`?from=...&to=...&all=True` -> per table: count, last load, period (naive times are UTC).

    `all=True` (every instance of the company) changes nothing: an organization is one instance.
    """
    raw_from = call.arg("from")
    if not raw_from:
        raise InvalidInputError("from", "is required, e.g. 2026-01-01T00:00:00")
    since = _moment(raw_from, "from")
    raw_to = call.arg("to")
    until = _moment(raw_to, "to") if raw_to else None
    if until is not None and until < since:
        raise InvalidInputError("to", "must not be before from")
    instance = call.app.identity.get_organization(call.principal).slug
    now = utcnow()
    rows = call.app.pipeline_metrics.loaded_per_table(call.principal, since=since, until=until)
    out = []
    for row in rows:
        last = _as_datetime(row.get("last"))
        precision = _precision(last, now)
        out.append(
            {
                "count": int(row.get("count") or 0),
                "from_date": _wire(row.get("from_date") or since),
                "instance_name": instance,
                "last": _wire(_truncate(last, precision)) if last is not None else None,
                "precision": precision,
                "table_name": row.get("table_name"),
                "to_date": _wire(row.get("to_date") or until or now),
            }
        )
    return out


def _moment(value: str, field: str) -> datetime:
    # The client builds the query string by hand: a "+hh:mm" offset arrives as a space.
    for text in (value.strip(), value.strip().replace(" ", "+")):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        return _utc(moment)
    raise InvalidInputError(field, "a date and time, YYYY-MM-DDTHH:MM:SS (UTC)")


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _precision(last: datetime | None, now: datetime) -> str:
    if last is None:
        return "DAY"
    age = now - last
    return next((name for limit, name in PRECISIONS if age <= limit), "DAY")


def _truncate(moment: datetime, precision: str) -> datetime:
    if precision == "MINUTE":
        return moment.replace(second=0, microsecond=0)
    if precision == "HOUR":
        return moment.replace(minute=0, second=0, microsecond=0)
    if precision == "DAY":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment


def _wire(value: Any) -> str:
    """`2018-12-13T07:25:18` (UTC, as the vendor shows it); text that is no time is kept."""
    moment = _as_datetime(value)
    return moment.strftime(WIRE_FORMAT) if moment is not None else str(value)
