"""`openlytics trusted-auth show|rotate` against the live server."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.cli.conftest import Invoke


def test_trusted_auth_key_is_rotated_and_shown(cli: Invoke, new_org: Any) -> None:
    off = cli("trusted-auth", "show", role="admin")
    assert off.exit_code == 0, off.output
    assert "not enabled" in off.output

    rotated = cli("trusted-auth", "rotate", role="admin")
    assert rotated.exit_code == 0, rotated.output
    key = re.search(r"olta_[A-Za-z0-9_-]{43}", rotated.output)
    assert key, rotated.output

    shown = json.loads(cli("trusted-auth", "show", "--json", role="admin").output)
    assert shown["secret_key"] == key[0] and shown["enabled"] is True
    assert new_org.admin.get("/api/v1/trusted-auth").json()["secret_key"] == key[0]

    refused = cli("trusted-auth", "rotate", role="editor")
    assert refused.exit_code == 1 and "not allowed" in refused.output
