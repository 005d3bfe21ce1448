"""Core objects <-> the Redash shapes the TONalytica clients read (field names as in Redash)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from openlytics.core.dashboards import DashboardDetail, PlacedWidget
from openlytics.core.errors import InvalidInputError
from openlytics.core.pagination import Page
from openlytics.store.models import (
    Alert,
    AlertSubscription,
    Dashboard,
    DataSource,
    Job,
    NotificationDestination,
    Query,
    QueryResult,
    Schedule,
    User,
    Visualization,
)

# Our logical column types -> Redash's.
COLUMN_TYPES = {
    "integer": "integer",
    "float": "float",
    "decimal": "float",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY = 86_400
WEEK = 7 * DAY


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def envelope(page: Page[Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The paginated list: `count`, and `page`/`page_size` echoing what was used."""
    return {"count": page.total, "page": page.page, "page_size": page.per_page, "results": results}


def user_brief(user: User | None) -> dict[str, Any] | None:
    """The `user` object embedded in queries, dashboards and alerts."""
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "email": user.email, "profile_image_url": ""}


def user(u: User, *, api_key: str | None = None) -> dict[str, Any]:
    """A user, with their API key when an admin asks (redash-migrate needs it)."""
    body: dict[str, Any] = {
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "profile_image_url": "",
        "groups": [1 if u.role == "admin" else 2],
        "is_disabled": u.disabled_at is not None,
        "disabled_at": iso(u.disabled_at),
        "is_invitation_pending": False,
        "active_at": iso(u.last_seen_at),
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
    }
    if api_key is not None:
        body["api_key"] = api_key
    return body


def data_source(src: DataSource) -> dict[str, Any]:
    """A data source as listed (no connection secrets)."""
    return {
        "id": src.id,
        "name": src.name,
        "type": src.kind,
        "syntax": "sql",
        "paused": 0,
        "pause_reason": None,
        "view_only": False,
        "options": {},
        "is_default": src.is_default,
    }


def schedule(s: Schedule | None) -> dict[str, Any] | None:
    """A refresh schedule as Redash shows it: interval seconds, optional time, day and end date."""
    if s is None:
        return None
    interval = s.interval_seconds
    at: str | None = None
    day: str | None = None
    if s.cron is not None:  # only made by other APIs; show the cron's period as an interval
        interval = DAY
    elif interval and interval % DAY == 0 and s.starts_at is not None:
        at = s.starts_at.astimezone(UTC).strftime("%H:%M")
        if interval % WEEK == 0:
            day = WEEKDAYS[s.starts_at.astimezone(UTC).weekday()]
    return {
        "interval": interval,
        "time": at,
        "day_of_week": day,
        "until": s.until.astimezone(UTC).date().isoformat() if s.until else None,
    }


def schedule_timing(value: Any, *, now: datetime) -> dict[str, Any] | None:
    """A Redash schedule object -> the core timing (`None` clears the schedule)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise InvalidInputError("schedule", "an object with interval, time, day_of_week and until")
    interval = value.get("interval")
    if interval is None:
        return None
    try:
        seconds = int(interval)
    except (TypeError, ValueError):
        raise InvalidInputError("schedule.interval", "a number of seconds") from None
    timing: dict[str, Any] = {"interval_seconds": seconds}
    if value.get("time"):
        timing["starts_at"] = _first_occurrence(value["time"], value.get("day_of_week"), seconds, now)
    if value.get("until"):
        try:
            end = date.fromisoformat(str(value["until"]))
        except ValueError:
            raise InvalidInputError("schedule.until", "a date YYYY-MM-DD") from None
        timing["until"] = datetime.combine(end, time(23, 59, 59), tzinfo=UTC)
    return timing


def _first_occurrence(at: Any, day_of_week: Any, seconds: int, now: datetime) -> datetime:
    try:
        hour, minute = (int(part) for part in str(at).split(":")[:2])
        moment = now.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise InvalidInputError("schedule.time", "HH:MM in UTC") from None
    if seconds % DAY != 0:
        raise InvalidInputError("schedule.time", "a time of day needs an interval of whole days")
    if day_of_week:
        if day_of_week not in WEEKDAYS:
            raise InvalidInputError("schedule.day_of_week", f"one of {', '.join(WEEKDAYS)}")
        moment += timedelta(days=(WEEKDAYS.index(day_of_week) - moment.weekday()) % 7)
    return moment


def visualization(v: Visualization, *, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A visualization; inside widgets it carries its query."""
    body: dict[str, Any] = {
        "id": v.id,
        "type": v.type,
        "name": v.name,
        "description": v.description or "",
        "options": v.options or {},
        "created_at": iso(v.created_at),
        "updated_at": iso(v.updated_at),
    }
    if query is not None:
        body["query"] = query
    return body


def query(
    q: Query,
    *,
    schedule_object: Schedule | None = None,
    visualizations: list[Visualization] | None = None,
    is_favorite: bool = False,
    api_key: str | None = None,
    can_edit: bool = False,
) -> dict[str, Any]:
    """A query, as listed; single queries also carry their visualizations."""
    body: dict[str, Any] = {
        "id": q.id,
        "name": q.name,
        "description": q.description,
        "query": q.sql,
        "query_hash": None,
        "data_source_id": q.data_source_id,
        # Only for queries without parameters: a parameterised result depends on its values.
        "latest_query_data_id": q.latest_result_id if not q.parameters else None,
        "tags": list(q.tags or []),
        "user": user_brief(q.user),
        "last_modified_by_id": q.last_modified_by_id,
        "schedule": schedule(schedule_object),
        "options": {**(q.options or {}), "parameters": [_parameter(p) for p in q.parameters or []]},
        "is_archived": q.is_archived,
        "is_draft": q.is_draft,
        "is_safe": not any(p.get("type") == "raw" for p in q.parameters or []),
        "is_favorite": is_favorite,
        "version": q.version,
        "created_at": iso(q.created_at),
        "updated_at": iso(q.updated_at),
    }
    if visualizations is not None:
        body["visualizations"] = [visualization(v) for v in visualizations]
        body["can_edit"] = can_edit
        if api_key is not None:
            body["api_key"] = api_key
    return body


# Redash parameter types -> ours, and back.
PARAMETER_TYPES_IN = {
    "text": "text",
    "number": "number",
    "date": "date",
    "datetime-local": "datetime",
    "datetime-with-seconds": "datetime",
    "date-range": "date_range",
    "datetime-range": "datetime_range",
    "datetime-range-with-seconds": "datetime_range",
    "enum": "enum",
    "query": "query",
    "raw": "raw",
}
PARAMETER_TYPES_OUT = {
    "datetime": "datetime-local",
    "date_range": "date-range",
    "datetime_range": "datetime-range",
}


def _parameter(p: dict[str, Any]) -> dict[str, Any]:
    kind = p.get("type", "text")
    options = p.get("options") or {}
    out: dict[str, Any] = {
        "name": p["name"],
        "title": p.get("title") or p["name"],
        "type": PARAMETER_TYPES_OUT.get(kind, kind),
        "value": p.get("default"),
        "global": False,
        "locals": [],
    }
    if kind == "query":
        out["queryId"] = options.get("query_id")
    if kind == "enum":
        out["enumOptions"] = "\n".join(str(v) for v in options.get("values", []))
    if options.get("multi"):
        out["multiValuesOptions"] = {"prefix": "", "suffix": "", "separator": ","}
    return out


def parameters_in(options: Any) -> list[dict[str, Any]] | None:
    """The parameter definitions inside Redash `options.parameters`, in our shape (None: absent)."""
    if not isinstance(options, dict) or "parameters" not in options:
        return None
    raw = options["parameters"]
    if not isinstance(raw, list):
        raise InvalidInputError("options.parameters", "a list")
    converted = []
    for p in raw:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise InvalidInputError("options.parameters", "objects with a name")
        kind = p.get("type", "text")
        if kind not in PARAMETER_TYPES_IN:
            raise InvalidInputError(
                "options.parameters",
                f"{p['name']}: unknown type {kind!r} (one of {', '.join(PARAMETER_TYPES_IN)})",
            )
        item: dict[str, Any] = {"name": p["name"], "type": PARAMETER_TYPES_IN[kind]}
        if p.get("title"):
            item["title"] = str(p["title"])
        if p.get("value") not in (None, "", []):
            item["default"] = p["value"]
        extra: dict[str, Any] = {}
        if kind == "query":
            extra["query_id"] = p.get("queryId")
        if kind == "enum":
            extra["values"] = [o for o in str(p.get("enumOptions") or "").splitlines() if o]
        if p.get("multiValuesOptions") and kind in ("enum", "query"):
            extra["multi"] = True
        if extra:
            item["options"] = extra
        converted.append(item)
    return converted


def options_out(options: Any) -> dict[str, Any]:
    """Query options to store: everything but `parameters`, which are kept as definitions."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidInputError("options", "an object")
    return {k: v for k, v in options.items() if k != "parameters"}


def dashboard(d: Dashboard, *, is_favorite: bool = False) -> dict[str, Any]:
    """A dashboard as listed."""
    return {
        "id": d.id,
        "slug": d.slug,
        "name": d.name,
        "user_id": d.user_id,
        "user": user_brief(d.user) or {"id": None, "name": "", "email": ""},
        "tags": list(d.tags or []),
        "is_draft": d.is_draft,
        "is_archived": d.is_archived,
        "is_favorite": is_favorite,
        "dashboard_filters_enabled": d.filters_enabled,
        "layout": (d.options or {}).get("layout", []),
        "options": d.options or {},
        "version": d.version,
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
    }


def dashboard_detail(
    detail: DashboardDetail,
    *,
    is_favorite: bool = False,
    public_url: str | None = None,
    can_edit: bool = False,
) -> dict[str, Any]:
    """A dashboard with its widgets (and its public URL when shared)."""
    body = dashboard(detail.dashboard, is_favorite=is_favorite)
    body["widgets"] = [widget(p) for p in detail.widgets]
    body["can_edit"] = can_edit
    if public_url is not None:
        body["public_url"] = public_url
        body["api_key"] = public_url.rsplit("/", 1)[-1]
    return body


def widget(placed: PlacedWidget) -> dict[str, Any]:
    """A widget: text widgets have no `visualization` key at all."""
    w = placed.widget
    body: dict[str, Any] = {
        "id": w.id,
        "dashboard_id": w.dashboard_id,
        "text": w.text or "",
        "width": w.width,
        "options": w.options or {},
        "created_at": iso(w.created_at),
        "updated_at": iso(w.updated_at),
    }
    if placed.visualization is not None and placed.query is not None:
        body["visualization"] = visualization(placed.visualization, query=query(placed.query))
    return body


def job(j: Job) -> dict[str, Any]:
    """A job: status 1-5, the error, and the result once done."""
    return {
        "id": j.id,
        "status": j.status,
        "error": j.error or "",
        "query_result_id": j.result_id,
        "query_id": j.query_id,
        "updated_at": iso(j.updated_at),
    }


def result_meta(r: QueryResult) -> dict[str, Any]:
    """A result's fields other than `data`."""
    return {
        "id": r.id,
        "query_hash": r.query_hash,
        "query": r.sql_text,
        "data_source_id": r.data_source_id,
        "runtime": r.runtime_seconds,
        "retrieved_at": iso(r.retrieved_at),
    }


def column_type(logical: str) -> str:
    """Redash's name of a column type."""
    return COLUMN_TYPES.get(logical, "string")


def alert(a: Alert, *, query_object: dict[str, Any] | None) -> dict[str, Any]:
    """An alert with its query."""
    return {
        "id": a.id,
        "name": a.name,
        "options": a.options or {},
        "state": a.state,
        "last_triggered_at": iso(a.last_triggered_at),
        "rearm": a.rearm,
        "muted": a.muted,
        "query_id": a.query_id,
        "query": query_object,
        "user": user_brief(a.user),
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
    }


def destination(d: NotificationDestination, *, options: dict[str, Any]) -> dict[str, Any]:
    """A notification destination (secrets masked)."""
    return {"id": d.id, "name": d.name, "type": d.kind, "icon": "fa-bell", "options": options}


def subscription(
    s: AlertSubscription, *, user_object: User | None, destination_object: dict[str, Any] | None
) -> dict[str, Any]:
    """An alert subscription: a user, or a destination."""
    body: dict[str, Any] = {"id": s.id, "alert_id": s.alert_id, "user": user_brief(user_object)}
    if destination_object is not None:
        body["destination"] = destination_object
    return body
