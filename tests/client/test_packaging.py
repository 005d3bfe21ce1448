"""The SDK stays light: it imports with httpx alone, and its sync half is generated from the async one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openlytics.client import MissingDependencyError, _optional, _unasync

HEAVY = ("duckdb", "fastapi", "starlette", "sqlalchemy", "pandas", "pyarrow", "pydantic", "uvicorn")


@pytest.mark.parametrize("module", ["openlytics.client", "openlytics.cli.main"])
def test_importing_does_not_load_the_server_or_dataframe_stack(module: str) -> None:
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""


def test_missing_extras_name_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match=r"openlytics\[arrow\]"):
        _optional.pyarrow()
    with pytest.raises(ImportError, match=r"openlytics\[pandas\]"):
        _optional.pandas()


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    assert _unasync.main(["--check"]) == 0, "run `python -m openlytics.client._unasync`"
