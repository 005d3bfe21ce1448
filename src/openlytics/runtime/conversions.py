"""File conversions that must not run in the server process, done in the sandbox.

A pandas pickle is a program: unpickling it runs whatever callables it names. The server never
unpickles; `pickle_to_parquet` unpickles in a sandbox with no secrets, no network and the given limits,
and the server reads back only the Parquet file (a data format, parsed, never executed).
"""

from __future__ import annotations

import json
from pathlib import Path

from openlytics.core.errors import InvalidInputError
from openlytics.runtime.sandbox import Limits, Program, Sandbox, SandboxResult

CONVERSION_LIMITS = Limits(cpu_seconds=600, wall_seconds=900, memory_mb=8192, max_output_bytes=64_000)


def pickle_to_parquet(
    src: Path,
    dst: Path,
    *,
    limits: Limits = CONVERSION_LIMITS,
    sandbox: Sandbox | None = None,
    compression: str = "gzip",
    field: str = "file",
) -> int:
    """Convert a (gzip) pickled DataFrame or list of rows at `src` to Parquet at `dst`; the row count.

    Raises InvalidInputError(field, reason) when the pickle is not one, or the conversion hits a limit.
    """
    import pyarrow.parquet as pq

    sandbox = sandbox or Sandbox()
    result = sandbox.run(
        Program.entry_point("openlytics.runtime._pickle_worker"),
        files={"input.pickle": src},
        args=[compression],
        limits=limits,
        network=False,
        outputs={"output.parquet": dst},
    )
    if not result.ok or "output.parquet" not in result.outputs:
        dst.unlink(missing_ok=True)
        raise InvalidInputError(field, _reason(result))
    try:
        return int(pq.read_metadata(dst).num_rows)
    except Exception as exc:  # whatever the sandbox wrote, it is not Parquet
        dst.unlink(missing_ok=True)
        raise InvalidInputError(field, "the conversion produced no valid Parquet file") from exc


def _reason(result: SandboxResult) -> str:
    if result.limit == "memory":
        return "the pickle needs more memory than the conversion may use"
    if result.limit in ("cpu", "wall"):
        return "the conversion took longer than allowed"
    lines = result.stdout.strip().splitlines()
    if lines:
        try:
            report = json.loads(lines[-1])
        except ValueError:
            report = None
        if isinstance(report, dict) and isinstance(report.get("error"), str):
            return report["error"]
    return f"the pickle could not be converted (exit code {result.return_code})"
