"""Runs INSIDE the sandbox: a gzip pandas pickle (`input.pickle`) to Parquet (`output.parquet`).

Unpickling runs whatever code the pickle names, which is why this never runs in the server. The
last line printed is a JSON report: `{"rows": n}` or `{"error": "..."}`.
"""

from __future__ import annotations

import json
import sys

INPUT = "input.pickle"
OUTPUT = "output.parquet"


def main() -> int:
    """Convert; exit code 0 with `{"rows": n}`, 2 with `{"error": reason}`."""
    import pandas as pd

    compression = sys.argv[1] if len(sys.argv) > 1 else "gzip"
    try:
        # The reason this runs in the sandbox: unpickling executes what the file names.
        loaded = pd.read_pickle(  # noqa: S301
            INPUT, compression=None if compression == "none" else compression
        )
    except MemoryError:
        raise  # the sandbox reports the memory limit
    except Exception as exc:  # noqa: BLE001 - any failure is the file's fault; report it
        return _fail(f"not a readable pandas pickle ({type(exc).__name__}: {exc})")
    if isinstance(loaded, list):
        loaded = pd.DataFrame(loaded)
    if not isinstance(loaded, pd.DataFrame):
        return _fail(f"expected a DataFrame or a list of rows, got {type(loaded).__name__}")
    if not isinstance(loaded.index, pd.RangeIndex):
        loaded = loaded.reset_index()  # a meaningful index is data: keep it as columns
    loaded.columns = [str(c) for c in loaded.columns]
    try:
        loaded.to_parquet(OUTPUT, index=False)
    except Exception as exc:  # noqa: BLE001 - e.g. mixed-type object columns Arrow cannot type
        return _fail(f"cannot be written as Parquet ({type(exc).__name__}: {exc})")
    print(json.dumps({"rows": len(loaded)}))
    return 0


def _fail(reason: str) -> int:
    print(json.dumps({"error": reason[:500]}))
    return 2
