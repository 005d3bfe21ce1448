"""Optional dependencies, imported only by the methods that need them."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .exceptions import MissingDependencyError


def _require(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is required for this; install it with `pip install openlytics[{extra}]`"
        ) from exc


def pyarrow() -> Any:
    """The `pyarrow` module, or a MissingDependencyError naming the `arrow` extra."""
    return _require("pyarrow", "arrow")


def pandas() -> Any:
    """The `pandas` module, or a MissingDependencyError naming the `pandas` extra."""
    _require("pyarrow", "pandas")
    return _require("pandas", "pandas")


def read_arrow_stream(body: bytes) -> Any:
    """A `pyarrow.Table` from an Arrow IPC stream, zero-copy over `body`."""
    pa = pyarrow()
    with pa.ipc.open_stream(pa.py_buffer(body)) as reader:
        return reader.read_all()
