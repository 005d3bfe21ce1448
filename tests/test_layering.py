"""The dependency direction of the house style, enforced by reading imports."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "openlytics"

RULES: dict[str, set[str]] = {
    # package -> banned top-level modules (or openlytics sub-packages)
    "core": {
        "fastapi",
        "starlette",
        "duckdb",
        "uvicorn",
        "openlytics.api",
        "openlytics.dialects",
        "openlytics.client",
    },
    "engines": {"fastapi", "starlette", "openlytics.api", "openlytics.core.jobs", "openlytics.dialects"},
    "results": {
        "fastapi",
        "starlette",
        "duckdb",
        "openlytics.api",
        "openlytics.core.jobs",
        "openlytics.core.identity",
    },
    "store": {"fastapi", "starlette", "duckdb", "openlytics.api", "openlytics.core"},
    "client": {
        "fastapi",
        "starlette",
        "duckdb",
        "sqlalchemy",
        "uvicorn",
        "alembic",
        "openlytics.core",
        "openlytics.api",
        "openlytics.engines",
        "openlytics.store",
        "openlytics.app",
        "openlytics.settings",
    },
    "cli": {
        "fastapi",
        "starlette",
        "duckdb",
        "sqlalchemy",
        "openlytics.core",
        "openlytics.engines",
        "openlytics.store",
        "openlytics.api",
    },
}
VENDOR_WORDS = ("tonalytica", "clicdata", "alooma", "serenytics", "thoughtspot", "redash")


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(RULES))
def test_packages_respect_the_dependency_direction(package: str) -> None:
    offending = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in imports_of(path):
            for banned in RULES[package]:
                if name == banned or name.startswith(banned + "."):
                    offending.append(f"{path.relative_to(SRC)} imports {name}")
    assert offending == []


def test_duckdb_is_imported_only_by_its_engine() -> None:
    users = {
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if any(n == "duckdb" or n.startswith("duckdb.") for n in imports_of(p))
    }
    assert users <= {
        "engines/duckdb_engine.py",
        "engines/duckdb_tables.py",
        "engines/file_loader.py",  # the locked-down CSV/Parquet reader both warehouses load through
        "engines/registry.py",
    }, users


def test_core_has_no_vendor_words() -> None:
    for path in (SRC / "core").rglob("*.py"):
        text = path.read_text().lower()
        assert not [w for w in VENDOR_WORDS if w in text], path


def test_light_install_does_not_pull_in_the_server() -> None:
    requirements = importlib.metadata.requires("openlytics") or []
    unconditional = [r.split(";")[0].strip().lower() for r in requirements if "extra ==" not in r]
    heavy = ("duckdb", "fastapi", "sqlalchemy", "uvicorn", "pandas", "pyarrow", "alembic")
    assert not [r for r in unconditional if r.startswith(heavy)], unconditional


def test_importing_the_sdk_loads_no_server_modules() -> None:
    code = (
        "import sys, openlytics.client\n"
        "from openlytics.client import Client, AsyncClient\n"
        "bad = [m for m in ('duckdb', 'fastapi', 'sqlalchemy', 'pandas', 'pyarrow', 'uvicorn') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
