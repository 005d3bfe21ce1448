"""What every command shares: connection options, the SDK client, and how errors end a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from openlytics.client import Client, OpenlyticsError, TransportError
from openlytics.client._config import API_KEY_ENV, URL_ENV


def console() -> Console:
    """A console on stdout, built per use so the terminal width (and $COLUMNS) is read each time."""
    return Console()


def errors() -> Console:
    """A console on stderr, for errors and progress."""
    return Console(stderr=True)


UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar=URL_ENV, help="Server URL.", show_envvar=True, show_default=False),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar=API_KEY_ENV, help="API key.", show_envvar=True, show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: str | None = None) -> NoReturn:
    """Print one red line to stderr and exit 1."""
    prefix = f"[{code}] " if code else ""
    errors().print(f"[bold red]Error:[/] [red]{escape(prefix + message)}[/]", soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def connect(url: str | None, api_key: str | None, *, timeout: float = 30.0) -> Iterator[Client]:
    """An SDK client for the command; SDK errors become a one-line message and exit code 1."""
    client = Client(url, api_key, timeout=timeout)
    try:
        with client:
            yield client
    except TransportError as exc:
        fail(f"cannot reach {client.base_url}: {exc.message}")
    except OpenlyticsError as exc:
        fail(exc.message, exc.code or _status_code(exc))


def _status_code(exc: OpenlyticsError) -> str | None:
    return f"HTTP {exc.status_code}" if exc.status_code is not None else None
