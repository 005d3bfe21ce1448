"""`openlytics oauth-clients create|list|revoke` against the live server."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.cli.conftest import Invoke


def test_oauth_clients_are_created_listed_and_revoked(cli: Invoke, server: Any, new_org: Any) -> None:
    created = cli(
        "oauth-clients",
        "create",
        "--name",
        "warehouse sync",
        "--user-id",
        new_org.viewer_user_id,
        role="admin",
    )
    assert created.exit_code == 0, created.output
    assert "shown only once" in created.output
    client_id = re.search(r"olc_[0-9a-f]{32}", created.output)
    secret = re.search(r"ols_[A-Za-z0-9_-]{43}", created.output)
    assert client_id and secret, created.output
    pk = re.search(r"Created OAuth client (\d+)", created.output)
    assert pk, created.output

    token = httpx.post(
        f"{server.url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id[0], "client_secret": secret[0]},
    )
    assert token.status_code == 200, token.text

    listed = json.loads(cli("oauth-clients", "list", "--json", role="viewer").output)
    assert [(c["id"], c["client_id"], c["client_secret"]) for c in listed] == [
        (int(pk[1]), client_id[0], None)
    ]
    table = cli("oauth-clients", "list", role="admin")
    assert table.exit_code == 0 and "warehouse sync" in table.output and secret[0] not in table.output

    revoked = cli("oauth-clients", "revoke", pk[1], role="viewer")
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(cli("oauth-clients", "list", "--json", role="viewer").output) == []
    gone = cli("oauth-clients", "revoke", pk[1], role="viewer")
    assert gone.exit_code != 0
