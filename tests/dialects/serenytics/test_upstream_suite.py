"""The test files shipped in the serenytics 2.0.1 sdist, run unchanged against a live server.

The sdist omits `tests/data/sales*.csv`; they are recreated from the contract. Its conftest uses
`pytest.yield_fixture`, gone from modern pytest: a one-line plugin restores the alias.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from openlytics.testing import LiveServer
from tests.conftest import Org

CACHE = Path(__file__).resolve().parents[3] / ".pytest_cache" / "vendor-clients" / "serenytics-sdist"
SDIST = "serenytics==2.0.1"
SALES = (
    "id;quarter;sales;year\n1;Q1;120;2015\n2;Q2;80;2015\n3;Q2;85;2014\n4;Q4;25;2015\n5;Qaccentué;10;2016\n"
)
SALES_V2 = "id;quarter;sales;year\n1;Q1;120;2013\n2;Q2;80;2015\n3;Q2;140;2014\n4;Q4;25;2015\n5;Q1;245;2016\n6;Q2;130;2015\n"


def sdist_root() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "download.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist processes download and unpack it once
        return _sdist_root()


def _sdist_root() -> Path:
    root = CACHE / "serenytics-2.0.1"
    if not (root / "tests").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(CACHE),
                SDIST,
            ],
            check=True,
        )
        with tarfile.open(next(CACHE.glob("serenytics-2.0.1.tar.gz"))) as archive:
            archive.extractall(CACHE, filter="data")
    data = root / "tests" / "data"
    data.mkdir(exist_ok=True)
    (data / "sales.csv").write_text(SALES, encoding="utf-8")
    (data / "sales_v2.csv").write_text(SALES_V2, encoding="utf-8")
    (root / "yield_fixture_alias.py").write_text("import pytest\npytest.yield_fixture = pytest.fixture\n")
    return root


def test_the_clients_own_test_suite_passes(server: LiveServer, new_org: Org) -> None:
    root = sdist_root()
    password = "correct horse battery"
    login = f"suite-{new_org.id}@example.test"
    created = new_org.admin.post(
        "/api/v1/users", json={"email": login, "name": "suite", "role": "admin", "password": password}
    )
    assert created.status_code == 201, created.text
    (root / ".env").write_text(f"PYTHON_CLIENT_TESTS_USERNAME_PASSWORD={login}:{password}\n")
    env = {
        **os.environ,
        "PYTHON_CLIENT_API_DOMAIN": f"{server.url}/serenytics",
        "PYTHONPATH": str(root),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "yield_fixture_alias",
            "tests",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
