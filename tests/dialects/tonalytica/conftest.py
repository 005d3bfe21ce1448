"""The real TONalytica clients against a live server: tonalytica-client and redash-toolbelt.

tonalytica-client pins requests==2.22.0; it is installed with --no-deps into a cache folder and
runs on the modern requests of this environment (redash-toolbelt comes with the dev extra).
"""

from __future__ import annotations

import fcntl
import importlib
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from openlytics.testing import LiveServer
from tests.conftest import Org

CLIENT_DIR = Path(__file__).resolve().parents[3] / ".pytest_cache" / "vendor-clients" / "tonalytica"
TONALYTICA_CLIENT = "tonalytica-client==0.1.0"


def load_tonalytica_client() -> Any:
    """The `tonalytica_client` module, installed on first use."""
    try:
        return importlib.import_module("tonalytica_client")
    except ImportError:
        pass
    CLIENT_DIR.mkdir(parents=True, exist_ok=True)
    with (CLIENT_DIR.parent / "tonalytica.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist processes install it once, one at a time
        if not (CLIENT_DIR / "tonalytica_client").exists():
            _install_tonalytica_client()
    sys.path.insert(0, str(CLIENT_DIR))
    return importlib.import_module("tonalytica_client")


def _install_tonalytica_client() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(CLIENT_DIR),
            TONALYTICA_CLIENT,
        ],
        check=True,
    )


def script(name: str) -> str:
    """Path of a console script installed in this environment (redash-toolbelt's)."""
    path = Path(sysconfig.get_path("scripts")) / name
    assert path.exists(), f"{name} is not installed: pip install -e '.[dev]'"
    return str(path)


@dataclass
class Tonalytica:
    """One organization seen through the dialect: its base URL, keys and the vendor clients."""

    base: str
    org: Org
    admin: Any  # TonalyticaAPIClient
    redash: Any  # redash_toolbelt.Redash
    http: httpx.Client  # raw calls with the admin key
    warehouse_id: int

    def client_for(self, key: str) -> Any:
        return load_tonalytica_client().TonalyticaAPIClient(key, host=self.base)

    def raw(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Key {key}"}, timeout=60)


@pytest.fixture
def ton(server: LiveServer, new_org: Org) -> Iterator[Tonalytica]:
    """A fresh organization with a `sales` table in its warehouse."""
    from redash_toolbelt import Redash

    base = f"{server.url}/tonalytica"
    key = new_org.keys["admin"]
    module = load_tonalytica_client()
    admin = module.TonalyticaAPIClient(key, host=base)
    http = httpx.Client(base_url=base, headers={"Authorization": f"Key {key}"}, timeout=60)
    warehouse_id = admin.get_data_sources()[0]["id"]
    created = http.post(
        "/api/query_results",
        json={
            "data_source_id": warehouse_id,
            "max_age": 0,
            "query": "CREATE TABLE sales AS SELECT * FROM (VALUES "
            "(1, 'north', 120.5, DATE '2026-01-03'), (2, 'south', 80.0, DATE '2026-01-04'), "
            "(3, 'north', 42.25, DATE '2026-02-01'), (4, 'west', 99.0, DATE '2026-02-11')) "
            "AS t(id, region, amount, sold_on)",
        },
    )
    assert created.status_code == 200 and created.json()["job"]["status"] == 3, created.text
    try:
        yield Tonalytica(base, new_org, admin, Redash(base, key), http, warehouse_id)
    finally:
        http.close()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"
