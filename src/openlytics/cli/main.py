"""The `openlytics` command: `serve` runs the server; every other command talks to one through the SDK."""

from __future__ import annotations

import typer

from openlytics import __version__
from openlytics.cli import (
    account,
    api_keys,
    assets,
    data_sources,
    datasets,
    groups,
    jobs,
    oauth_clients,
    pipeline,
    queries,
    query_run,
    schedules,
    scripts,
    share,
    teams,
    trusted_auth,
    users,
)
from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_model
from openlytics.cli.scheduler import scheduler
from openlytics.cli.serve import serve
from openlytics.cli.utilities import commands as utilities
from openlytics.cli.worker import worker

app = typer.Typer(
    name="openlytics",
    help="openlytics: a self-hosted analytics server, and a client for it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve)
app.command("worker")(worker)
app.command("scheduler")(scheduler)
app.command("usage")(account.usage)
app.add_typer(account.activity_app, name="activity")
app.add_typer(users.app, name="users")
app.add_typer(teams.app, name="teams")
app.add_typer(groups.app, name="groups")
app.add_typer(share.app, name="share")
app.add_typer(api_keys.app, name="api-keys")
app.add_typer(oauth_clients.app, name="oauth-clients")
app.add_typer(trusted_auth.app, name="trusted-auth")
app.add_typer(data_sources.app, name="data-sources")
app.add_typer(queries.app, name="queries")
app.add_typer(query_run.app, name="query")
app.add_typer(jobs.app, name="jobs")
app.add_typer(schedules.app, name="schedules")
app.add_typer(scripts.app, name="scripts")
app.add_typer(datasets.app, name="datasets")
app.add_typer(pipeline.app, name="pipeline")
app.command("gdpr-scrub")(utilities.gdpr_scrub)
app.command("find-tables")(utilities.find_tables)
app.command("clone-dashboard")(utilities.clone_dashboard)
app.command("export-queries")(utilities.export_queries)
app.command("export")(assets.export)
app.command("import")(assets.import_objects)
app.command("plan")(assets.plan)


@app.command("me")
def me(url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False) -> None:
    """Show who the API key belongs to."""
    with connect(url, api_key) as client:
        identity = client.me()
    if json:
        print_json(identity)
        return
    if identity.user is not None:
        print_model(identity.user)
    console().print(
        f"organization: [bold]{identity.organization.name}[/] ({identity.organization.slug}), "
        f"credential: {identity.credential}"
    )


@app.command("version")
def version() -> None:
    """Print the version."""
    console().print(f"openlytics {__version__}")


if __name__ == "__main__":
    app()
