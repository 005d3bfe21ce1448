"""What an event transform may import: the standard library minus escape hatches, plus a few packages.

Shared by the Code Engine (which lists the allowed packages and passes their top-level modules to
the worker) and `_transform_worker` (which enforces the policy on imports made by transform code).
It is defence in depth: the sandbox (no network, unprivileged user, limits) is the boundary.

- `FORBIDDEN_MODULES`: process, network, FFI and import-machinery modules; a name is forbidden when
  it or one of its parents is listed (`http.client` is, `http.cookies` is not).
- `ALLOWED_DISTRIBUTIONS`: third-party packages a transform may import when they are installed.
- `SECRETS_MODULE`: the module transforms read the organization's secrets from
  (`from transform_secrets import secrets`; `secrets` is the standard library's module).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import importlib.metadata

SECRETS_MODULE = "transform_secrets"

FORBIDDEN_MODULES = frozenset(
    {
        # processes, signals and threads
        "subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing", "concurrent", "pty",
        "signal", "_signal", "resource", "threading", "_thread", "faulthandler", "runpy",
        # network
        "socket", "_socket", "ssl", "_ssl", "select", "selectors", "asyncio", "socketserver",
        "http.client", "http.server", "urllib.request", "ftplib", "smtplib", "poplib", "imaplib",
        "nntplib", "telnetlib", "xmlrpc", "webbrowser",
        # foreign functions, memory, the import machinery and the interpreter's own switches
        "ctypes", "_ctypes", "cffi", "mmap", "importlib", "builtins", "gc", "code", "codeop",
    }
)  # fmt: skip

ALLOWED_DISTRIBUTIONS = (
    "python-dateutil",
    "pytz",
    "tzdata",
    "six",
    "orjson",
    "simplejson",
    "ujson",
    "regex",
    "PyYAML",
    "user-agents",
    "ua-parser",
    "phonenumbers",
    "pycountry",
    "iso8601",
    "python-slugify",
    "Unidecode",
    "jmespath",
    "idna",
    "Babel",
)


@dataclass(frozen=True)
class Package:
    """An installed distribution transforms may import, and the top-level modules it provides."""

    name: str
    version: str
    modules: tuple[str, ...]


def is_forbidden(fullname: str) -> bool:
    """Whether `fullname` (or a package it is part of) is closed to transforms."""
    parts = fullname.split(".")
    return any(".".join(parts[: i + 1]) in FORBIDDEN_MODULES for i in range(len(parts)))


def is_standard_library(fullname: str) -> bool:
    """Whether the top-level package of `fullname` belongs to the standard library."""
    return fullname.partition(".")[0] in sys.stdlib_module_names


@functools.cache
def allowed_packages() -> tuple[Package, ...]:
    """The allowed distributions that are installed, by name."""
    import importlib.metadata  # here: the sandboxed worker imports this module and needs none of it

    found = []
    for name in ALLOWED_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.append(Package(dist.metadata["Name"] or name, dist.version, _top_level_modules(dist)))
    return tuple(sorted(found, key=lambda p: p.name.lower()))


def _top_level_modules(dist: importlib.metadata.Distribution) -> tuple[str, ...]:
    listed = dist.read_text("top_level.txt")
    if listed:
        return tuple(sorted({line.strip() for line in listed.splitlines() if line.strip()}))
    modules = set()
    for file in dist.files or ():
        top = file.parts[0]
        if top.endswith((".dist-info", ".egg-info", ".data")) or top in ("..", "__pycache__"):
            continue
        if len(file.parts) > 1 or top.endswith(".py"):
            modules.add(top.removesuffix(".py").split(".")[0])
    return tuple(sorted(modules))
