"""Pickles become Parquet inside the sandbox only; a malicious pickle achieves nothing."""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from openlytics.core.errors import InvalidInputError
from openlytics.runtime.conversions import pickle_to_parquet
from openlytics.runtime.sandbox import Limits, Sandbox

LIMITS = Limits(cpu_seconds=60, wall_seconds=120, memory_mb=2048)


@pytest.fixture(scope="module")
def server_dir() -> Iterator[Path]:
    """A directory the server owns, world-readable and writable by root only (like a data dir)."""
    base = Path("/tmp") / f"ol-conversion-test-{os.getpid()}"
    base.mkdir(mode=0o755)
    yield base
    for path in base.iterdir():
        path.unlink()
    base.rmdir()


@pytest.fixture(scope="module")
def sandbox(server_dir: Path) -> Sandbox:
    return Sandbox(hidden_paths=[server_dir])


class Exploit:
    """Unpickling this runs `exec` on the code: what an attacker's upload would do."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (self.code,))


def write_gzip_pickle(path: Path, value: object) -> Path:
    with gzip.open(path, "wb") as fh:
        pickle.dump(value, fh, protocol=5)
    return path


def test_dataframe_pickle_converts_with_dtypes_preserved(sandbox: Sandbox, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "i32": pd.Series([1, 2, 3], dtype="int32"),
            "i64": pd.Series([10**12, -1, 0], dtype="int64"),
            "f64": [1.5, float("nan"), -2.25],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01 10:00:00", "2024-06-30 23:59:59", "2025-02-28 00:00:00"]),
            "day": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).date,
            "text": ["a", "é", None],
        }
    )
    src = tmp_path / "frame.pd025_pickle"
    frame.to_pickle(src, compression="gzip")
    rows = pickle_to_parquet(src, tmp_path / "frame.parquet", limits=LIMITS, sandbox=sandbox)
    back = pd.read_parquet(tmp_path / "frame.parquet")
    assert rows == 3
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, frame)


def test_list_of_rows_pickle_converts(sandbox: Sandbox, tmp_path: Path) -> None:
    src = write_gzip_pickle(tmp_path / "rows.pickle", [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    rows = pickle_to_parquet(src, tmp_path / "rows.parquet", limits=LIMITS, sandbox=sandbox)
    assert rows == 2
    assert pq.read_table(tmp_path / "rows.parquet").to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


def test_malicious_pickle_achieves_nothing_and_fails_cleanly(
    sandbox: Sandbox, server_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLYTICS_SECRET_KEY", "the-server-secret")
    target = server_dir / "pwned"
    code = f"""
import os, socket
secret = os.environ.get("OPENLYTICS_SECRET_KEY", "no secret")
for path in ({str(target)!r}, "/tmp/ol-pwned-{os.getpid()}"):
    try:
        open(path, "w").write(secret)
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("network reached")
except OSError:
    pass
print(secret)
"""
    src = write_gzip_pickle(tmp_path / "evil.pickle", Exploit(code))
    dst = tmp_path / "evil.parquet"
    with pytest.raises(InvalidInputError) as caught:
        pickle_to_parquet(src, dst, limits=LIMITS, sandbox=sandbox)
    assert caught.value.field == "file"
    assert caught.value.reason == "expected a DataFrame or a list of rows, got NoneType"
    assert not target.exists()
    assert not dst.exists()
    stray = Path(f"/tmp/ol-pwned-{os.getpid()}")
    if stray.exists():  # /tmp is shared: the pickle may write there, but never learns a secret
        assert stray.read_text() == "no secret"
        stray.unlink()


def test_pickle_that_takes_too_much_memory_is_stopped(sandbox: Sandbox, tmp_path: Path) -> None:
    src = write_gzip_pickle(tmp_path / "hog.pickle", Exploit("x = bytearray(4 * 1024**3)"))
    with pytest.raises(InvalidInputError, match="more memory"):
        pickle_to_parquet(src, tmp_path / "hog.parquet", limits=LIMITS, sandbox=sandbox)


def test_garbage_is_a_clean_error(sandbox: Sandbox, tmp_path: Path) -> None:
    src = tmp_path / "garbage.pickle"
    src.write_bytes(b"not a gzip pickle at all")
    with pytest.raises(InvalidInputError, match="not a readable pandas pickle"):
        pickle_to_parquet(src, tmp_path / "garbage.parquet", limits=LIMITS, sandbox=sandbox)
