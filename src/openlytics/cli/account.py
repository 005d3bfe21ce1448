"""`openlytics usage` and `openlytics activity users|dashboards`: the account at a glance."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console, fail
from openlytics.cli._render import print_json, print_models
from openlytics.client.models import AccountUsage

activity_app = typer.Typer(help="Who viewed, ran and called what.", no_args_is_help=True)

# (usage key, label, limit key or None): limited items first, each drawn with a bar.
ITEMS = (
    ("rows", "rows", "rows"),
    ("data_sets", "data sets", "data_sets"),
    ("dashboards", "dashboards", "dashboards"),
    ("users", "users", "users"),
    ("storage_mb", "storage (MB)", "storage_mb"),
    ("api_calls", "API calls this month", "api_calls_per_month"),
    ("queries", "queries", None),
    ("schedules", "schedules", None),
    ("scripts", "scripts", None),
    ("query_runs", "query runs this month", None),
    ("dashboard_views", "dashboard views this month", None),
)
BAR_WIDTH = 30
WARN_RATIO = 0.8
USER_COLUMNS = ("user_id", "email", "name", "views", "runs", "api_calls", "last_seen")
DASHBOARD_COLUMNS = ("dashboard_id", "name", "views", "viewers", "last_viewed")
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Only activity since this date/time (ISO) or this many days ago (30d)."),
]


def usage(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """Show the organization's usage beside its limits (limits are reported, not enforced)."""
    with connect(url, api_key) as client:
        report = client.account.usage()
    if json:
        print_json(report)
        return
    console().print(usage_table(report))


def usage_table(report: AccountUsage) -> Table:
    """The usage report as a table: used, limit, a bar and a percentage per limited item."""
    start = report.period_start.date().isoformat() if report.period_start else "?"
    name = report.account.get("name") or report.account.get("slug") or ""
    table = Table(title=f"{name} — usage since {start} (UTC)", title_justify="left")
    table.add_column("item")
    table.add_column("used", justify="right")
    table.add_column("limit", justify="right")
    table.add_column("", width=BAR_WIDTH)
    table.add_column("%", justify="right")
    for key, label, limit_key in ITEMS:
        used = report.usage.get(key)
        limit = report.limits.get(limit_key) if limit_key else None
        if limit_key is None:
            table.add_row(label, _number(used), Text(""), Text(""), Text(""))
        elif limit is None:
            table.add_row(label, _number(used), Text("unlimited", style="dim"), Text(""), Text(""))
        else:
            ratio = float(used or 0) / limit if limit > 0 else 1.0
            style = "red" if ratio >= 1 else "yellow" if ratio >= WARN_RATIO else "green"
            bar = ProgressBar(
                total=max(limit, 1),
                completed=min(float(used or 0), max(limit, 1)),
                width=BAR_WIDTH,
                complete_style=style,
                finished_style=style,
            )
            table.add_row(label, _number(used), _number(limit), bar, Text(f"{ratio:.0%}", style=style))
    return table


@activity_app.command("users")
def user_activity(
    since: SinceOption = None, url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False
) -> None:
    """Each user's dashboard views, runs and API calls (admins)."""
    with connect(url, api_key) as client:
        found = client.account.user_activity(since=parse_since(since))
    if json:
        print_json(found)
    else:
        print_models(found, USER_COLUMNS, title="User activity")


@activity_app.command("dashboards")
def dashboard_activity(
    since: SinceOption = None, url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False
) -> None:
    """Each dashboard's views and distinct viewers."""
    with connect(url, api_key) as client:
        found = client.account.dashboard_activity(since=parse_since(since))
    if json:
        print_json(found)
    else:
        print_models(found, DASHBOARD_COLUMNS, title="Dashboard activity")


def parse_since(value: str | None) -> datetime | None:
    """`30d` (days ago) or an ISO date/time (UTC unless it says otherwise) as an aware datetime."""
    if value is None:
        return None
    days = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*d\s*", value)
    if days:
        return datetime.now(UTC) - timedelta(days=float(days.group(1)))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"--since: {value!r} is neither a date/time (2026-11-01) nor a number of days (30d)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(value: Any) -> Text:
    if value is None:
        return Text("?", style="dim")
    if isinstance(value, float) and not value.is_integer():
        return Text(f"{value:,.2f}")
    return Text(f"{int(value):,}")
